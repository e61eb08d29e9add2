/// Dequantizers for the 256-value super-block "K" formats (Q4_K, Q5_K, Q6_K).
enum KQuantKernels {
    /// Scale and minimum of sub-block `j` (0..<8) from the 12 packed bytes of Q4_K/Q5_K:
    /// bytes 0–3 hold the low 6 bits of scales 0–3, bytes 4–7 those of mins 0–3, and for
    /// sub-blocks 4–7 bytes 8–11 hold the low 4 bits (scale low nibble, min high nibble) while
    /// the top 2 bits come from the top bits of bytes 0–3 (scales) and 4–7 (mins).
    @inline(__always)
    static func scaleAndMin(_ s: UnsafePointer<UInt8>, _ j: Int) -> (scale: Float, min: Float) {
        if j < 4 {
            return (Float(s[j] & 0x3F), Float(s[j + 4] & 0x3F))
        }
        let scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4)
        let minimum = (s[j + 4] >> 4) | ((s[j] >> 6) << 4)
        return (Float(scale), Float(minimum))
    }

    /// Layout: fp16 d, fp16 dmin, 12 scale bytes, 128 quant bytes. Bytes 32k..<32k+32 hold
    /// sub-block 2k in their low nibbles and sub-block 2k+1 in their high nibbles.
    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 144
            let y = dst + b * 256
            let d = loadHalf(block, 0)
            let dmin = loadHalf(block, 2)
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            let qs = (block + 16).assumingMemoryBound(to: UInt8.self)
            for k in 0..<4 {
                let (sc1, m1) = scaleAndMin(scales, 2 * k)
                let (sc2, m2) = scaleAndMin(scales, 2 * k + 1)
                let d1 = d * sc1, min1 = dmin * m1
                let d2 = d * sc2, min2 = dmin * m2
                let q = qs + 32 * k
                let out = y + 64 * k
                for l in 0..<32 {
                    out[l] = d1 * Float(q[l] & 0x0F) - min1
                    out[l + 32] = d2 * Float(q[l] >> 4) - min2
                }
            }
        }
    }

    /// Layout: fp16 d, fp16 dmin, 12 scale bytes, 32 high-bit bytes, 128 quant bytes. Like Q4_K,
    /// with bit j of high-bit byte l giving the fifth bit of value l of sub-block j.
    static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 176
            let y = dst + b * 256
            let d = loadHalf(block, 0)
            let dmin = loadHalf(block, 2)
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
            let qs = (block + 48).assumingMemoryBound(to: UInt8.self)
            for k in 0..<4 {
                let (sc1, m1) = scaleAndMin(scales, 2 * k)
                let (sc2, m2) = scaleAndMin(scales, 2 * k + 1)
                let d1 = d * sc1, min1 = dmin * m1
                let d2 = d * sc2, min2 = dmin * m2
                let q = qs + 32 * k
                let out = y + 64 * k
                let shift = UInt8(2 * k)
                for l in 0..<32 {
                    let high = qh[l] >> shift
                    let lo = (q[l] & 0x0F) | ((high & 1) << 4)
                    let hi = (q[l] >> 4) | ((high & 2) << 3)
                    out[l] = d1 * Float(lo) - min1
                    out[l + 32] = d2 * Float(hi) - min2
                }
            }
        }
    }

    /// Layout: 128 low-nibble bytes, 64 high-bit-pair bytes, 16 int8 scales, fp16 d. Each half h
    /// of 128 values uses ql[64h..<64h+64] and qh[32h..<32h+32]; quarter p of the half takes the
    /// low (p < 2) or high nibble of ql[64h + 32(p % 2) + l] and bits 2p, 2p+1 of qh[32h + l];
    /// every 16 values share one scale.
    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 210
            let y = dst + b * 256
            let ql = block.assumingMemoryBound(to: UInt8.self)
            let qh = (block + 128).assumingMemoryBound(to: UInt8.self)
            let sc = (block + 192).assumingMemoryBound(to: Int8.self)
            let d = loadHalf(block, 208)
            for h in 0..<2 {
                let lowBits = ql + 64 * h
                let highBits = qh + 32 * h
                let out = y + 128 * h
                for half16 in 0..<2 {
                    let s = sc + 8 * h + half16
                    let d0 = d * Float(s[0]), d1 = d * Float(s[2])
                    let d2 = d * Float(s[4]), d3 = d * Float(s[6])
                    for l in (16 * half16)..<(16 * half16 + 16) {
                        let a = lowBits[l], c = lowBits[l + 32], hb = highBits[l]
                        let q0 = Int32((a & 0x0F) | ((hb & 0x03) << 4)) - 32
                        let q1 = Int32((c & 0x0F) | ((hb & 0x0C) << 2)) - 32
                        let q2 = Int32((a >> 4) | (hb & 0x30)) - 32
                        let q3 = Int32((c >> 4) | ((hb & 0xC0) >> 2)) - 32
                        out[l] = d0 * Float(q0)
                        out[l + 32] = d1 * Float(q1)
                        out[l + 64] = d2 * Float(q2)
                        out[l + 96] = d3 * Float(q3)
                    }
                }
            }
        }
    }
}
