/// GPT-2's reversible map between bytes and printable Unicode scalars.
///
/// Bytes that are printable Latin-1 (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) map to themselves; the other 68
/// bytes map, in increasing byte order, to U+0100, U+0101, … . Byte-level BPE vocabularies store
/// every token in this alphabet, so `Ġ` (U+0120) stands for a space byte.
enum ByteLevelMapping {
    /// The scalar value standing for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(UInt8(byte)) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte a scalar stands for, or nil when the scalar is outside the alphabet.
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 {
            return isPrintable(UInt8(scalar)) ? UInt8(scalar) : nil
        }
        guard scalar < 256 + 68 else { return nil }
        return byteForExtendedScalar[Int(scalar - 256)]
    }

    /// The byte-level text of raw bytes (e.g. `" hi"` → `"Ġhi"`).
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var text = String.UnicodeScalarView()
        for byte in bytes {
            text.append(Unicode.Scalar(scalarForByte[Int(byte)]) ?? "\u{FFFD}")
        }
        return String(text)
    }

    /// The raw bytes of byte-level text, or nil when a scalar is outside the alphabet.
    static func decode(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard let byte = byte(for: scalar.value) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    private static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    private static let byteForExtendedScalar: [UInt8] = {
        var table: [UInt8] = []
        for byte in 0..<256 where !isPrintable(UInt8(byte)) {
            table.append(UInt8(byte))
        }
        return table
    }()
}
