/// A bounds-checked little-endian cursor over a byte buffer; every read past the end throws.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes left after the cursor.
    var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes are available.
    func require(_ count: Int) throws(GGUFError) {
        guard count >= 0, count <= remaining else { throw .truncated(offset: offset, needed: count) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        try require(MemoryLayout<T>.size)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat() throws(GGUFError) -> Float { Float(bitPattern: try read(UInt32.self)) }

    mutating func readDouble() throws(GGUFError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// Reads a u64 length and converts it to `Int`, rejecting values above `limit`.
    mutating func readLength(_ what: String, limit: Int) throws(GGUFError) -> Int {
        let start = offset
        let raw = try read(UInt64.self)
        guard raw <= UInt64(limit) else {
            offset = start
            throw .lengthTooLarge(what: what, length: raw, limit: UInt64(limit))
        }
        return Int(raw)
    }

    /// Reads a GGUF string: u64 byte length, then UTF-8 bytes (invalid sequences become U+FFFD).
    mutating func readString(maxLength: Int) throws(GGUFError) -> String {
        let length = try readLength("string length", limit: maxLength)
        try require(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        offset += length
        return String(decoding: slice, as: UTF8.self)
    }
}
