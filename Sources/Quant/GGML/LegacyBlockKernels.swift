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
        var q = FiveBitValues()
        for b in 0..<blocks {
            let block = src + b * 22
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            q.unpack(highBits: block + 2, nibbles: block + 6)
            q.withValues { v in
                for j in 0..<32 { y[j] = d * Float(Int32(v[j]) - 16) }
            }
        }
    }

    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        var q = FiveBitValues()
        for b in 0..<blocks {
            let block = src + b * 24
            let y = dst + b * 32
            let d = loadHalf(block, 0)
            let m = loadHalf(block, 2)
            q.unpack(highBits: block + 4, nibbles: block + 8)
            q.withValues { v in
                for j in 0..<32 { y[j] = d * Float(v[j]) + m }
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

/// The 32 five-bit values of a Q5_0/Q5_1 block, assembled eight at a time in 64-bit words:
/// each byte gets its nibble and, as 0x10, its bit from the packed high-bit word.
private struct FiveBitValues {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Spreads bits 0–7 of `bits` to 0x10 in bytes 0–7.
    @inline(__always)
    private static func spread(_ bits: UInt64) -> UInt64 {
        let selected = ((bits & 0xFF) &* 0x0101_0101_0101_0101) & 0x8040_2010_0804_0201
        return ((selected &+ 0x7F7F_7F7F_7F7F_7F7F) & 0x8080_8080_8080_8080) >> 3
    }

    @inline(__always)
    mutating func unpack(highBits: UnsafeRawPointer, nibbles: UnsafeRawPointer) {
        let qh = UInt64(UInt32(littleEndian: highBits.loadUnaligned(as: UInt32.self)))
        let first = UInt64(littleEndian: nibbles.loadUnaligned(as: UInt64.self))
        let second = UInt64(littleEndian: nibbles.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let mask: UInt64 = 0x0F0F_0F0F_0F0F_0F0F
        words = ((first & mask) | Self.spread(qh),
                 (second & mask) | Self.spread(qh >> 8),
                 ((first >> 4) & mask) | Self.spread(qh >> 16),
                 ((second >> 4) & mask) | Self.spread(qh >> 24))
    }

    @inline(__always)
    func withValues(_ body: (UnsafePointer<UInt8>) -> Void) {
        withUnsafeBytes(of: words) { body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }
}
