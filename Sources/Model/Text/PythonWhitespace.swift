extension Unicode.Scalar {
    /// Whether Python's `str.isspace()` calls this scalar whitespace (ASCII blanks, the
    /// separators U+001C–U+001F, NEL, NBSP and the Unicode space separators). Chat templates
    /// (`trim`, `strip()`) and the BLEU/ROUGE reference implementations use this definition.
    public var isPythonWhitespace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}

extension String {
    /// The string without leading and trailing Python whitespace, as Python's `str.strip()`.
    public func strippingPythonWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isPythonWhitespace }),
              let last = scalars.lastIndex(where: { !$0.isPythonWhitespace }) else { return "" }
        return String(scalars[first...last])
    }

    /// The string without trailing Python whitespace, as Python's `str.rstrip()`.
    public func rstrippingPythonWhitespace() -> String {
        let scalars = unicodeScalars
        guard let last = scalars.lastIndex(where: { !$0.isPythonWhitespace }) else { return "" }
        return String(scalars[...last])
    }

    /// The words between runs of Python whitespace, as Python's `str.split()` with no arguments.
    public func splitOnPythonWhitespace() -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar.isPythonWhitespace {
                if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }
}
