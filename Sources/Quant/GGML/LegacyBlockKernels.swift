/// Dequantizers for the 32-value block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).
///
/// In every 4- and 5-bit format byte `j` of the packed quants holds value `j` in its low nibble
/// and value `j + 16` in its high nibble; Q5 formats keep the fifth bit of value `j` in bit `j`
/// of a little-endian u32.
enum LegacyBlockKernels {
    static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 18
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q = qs[j]
                y[j] = d * Float(Int32(q & 0x0F) - 8)
                y[j + 16] = d * Float(Int32(q >> 4) - 8)
            }
        }
    }

    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 20
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            let m = loadHalf(block, 2)
            let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q = qs[j]
                y[j] = d * Float(q & 0x0F) + m
                y[j + 16] = d * Float(q >> 4) + m
            }
        }
    }

    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 22
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q = UInt32(qs[j])
                let lo = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
                let hi = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
                y[j] = d * Float(Int32(lo) - 16)
                y[j + 16] = d * Float(Int32(hi) - 16)
            }
        }
    }

    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 24
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            let m = loadHalf(block, 2)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q = UInt32(qs[j])
                let lo = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
                let hi = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
                y[j] = d * Float(lo) + m
                y[j + 16] = d * Float(hi) + m
            }
        }
    }

    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 34
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            let qs = (block + 2).assumingMemoryBound(to: Int8.self)
            for j in 0..<32 { y[j] = Float(qs[j]) * d }
        }
    }
}
