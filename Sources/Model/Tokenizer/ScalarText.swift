/// UTF-8 text decoded once into Unicode scalars, with each scalar's classes and byte offset,
/// so the pre-tokenizer scanners can look at characters without allocating.
struct ScalarText {
    /// Scalar values.
    var values: [UInt32] = []
    /// `ScalarClass` raw values, one per scalar.
    var classes: [UInt8] = []
    /// UTF-8 offset of each scalar, plus the total length at the end (`values.count + 1` entries).
    var byteOffsets: [Int] = []

    /// Number of scalars.
    var count: Int { values.count }

    /// Replaces the contents with the scalars of `bytes` (valid UTF-8, as from a Swift `String`).
    mutating func load(_ bytes: UnsafeBufferPointer<UInt8>) {
        values.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        byteOffsets.removeAll(keepingCapacity: true)
        values.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        byteOffsets.reserveCapacity(bytes.count + 1)
        var index = 0
        let end = bytes.count
        while index < end {
            let lead = bytes[index]
            var value = UInt32(lead)
            var length = 1
            if lead >= 0xF0 {
                length = 4
                value &= 0x07
            } else if lead >= 0xE0 {
                length = 3
                value &= 0x0F
            } else if lead >= 0xC0 {
                length = 2
                value &= 0x1F
            }
            if length > 1 {
                if index + length > end {
                    length = end - index  // truncated sequence: keep the bytes, scalar value unusable
                    value = 0xFFFD
                } else {
                    for offset in 1..<length {
                        value = (value << 6) | UInt32(bytes[index + offset] & 0x3F)
                    }
                }
            }
            values.append(value)
            classes.append(ScalarClass.of(value).rawValue)
            byteOffsets.append(index)
            index += length
        }
        byteOffsets.append(end)
    }
}
