/// How whitespace is normalised when cleaning text.
public enum WhitespaceNormalization: String, Sendable, Codable, Hashable {
    /// Leave whitespace as it is.
    case keep
    /// Remove spaces and tabs at the end of each line (safe for code and completions).
    case trimLineEnds
    /// Collapse each run of spaces/tabs to one space, keep at most one blank line, and trim the
    /// whole text. Destroys code indentation: meant for prose.
    case collapse
}

/// Which cleaning steps run on every text field before deduplication and tokenization.
public struct CleaningOptions: Sendable, Codable, Hashable {
    /// Remove control characters (Unicode category Cc) except `\n` and `\t`; this also turns
    /// `\r\n` into `\n`.
    public var stripControlCharacters: Bool
    /// Remove HTML/XML tags (`<p>`, `</div>`, `<br/>`, `<!-- … -->`, `<!DOCTYPE …>`) and decode the
    /// common entities (`&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;`, `&#NN;`, `&#xHH;`). A `<`
    /// not followed by a letter, `/`, or `!` is left alone, so `a < b` and `<|im_end|>` survive.
    public var stripHTMLTags: Bool
    /// Whitespace normalisation.
    public var whitespace: WhitespaceNormalization

    /// Creates options. Defaults are safe for code: strip control characters, trim line ends.
    public init(stripControlCharacters: Bool = true, stripHTMLTags: Bool = false,
                whitespace: WhitespaceNormalization = .trimLineEnds) {
        self.stripControlCharacters = stripControlCharacters
        self.stripHTMLTags = stripHTMLTags
        self.whitespace = whitespace
    }

    /// No cleaning at all.
    public static let none = CleaningOptions(stripControlCharacters: false, stripHTMLTags: false, whitespace: .keep)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CleaningOptions()
        stripControlCharacters = try c.decodeIfPresent(Bool.self, forKey: .stripControlCharacters) ?? d.stripControlCharacters
        stripHTMLTags = try c.decodeIfPresent(Bool.self, forKey: .stripHTMLTags) ?? d.stripHTMLTags
        whitespace = try c.decodeIfPresent(WhitespaceNormalization.self, forKey: .whitespace) ?? d.whitespace
    }
}

/// Applies ``CleaningOptions`` to text.
public enum TextCleaner {
    /// `text` cleaned: control characters, then HTML, then whitespace.
    public static func clean(_ text: String, options: CleaningOptions) -> String {
        var scalars = Array(text.unicodeScalars)
        if options.stripControlCharacters { scalars = stripControls(scalars) }
        if options.stripHTMLTags { scalars = decodeEntities(stripTags(scalars)) }
        switch options.whitespace {
        case .keep: break
        case .trimLineEnds: scalars = trimLineEnds(scalars)
        case .collapse: scalars = collapseWhitespace(scalars)
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    private static func stripControls(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        s.filter { $0 == "\n" || $0 == "\t" || $0.properties.generalCategory != .control }
    }

    private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
    }

    /// Removes `<tag …>`, `</tag>`, `<!…>` and `<!-- … -->`.
    private static func stripTags(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count else { out.append(s[i]); i += 1; continue }
            // Comment: skip to "-->" (or keep the text if it never closes).
            if i + 3 < s.count, s[i + 1] == "!", s[i + 2] == "-", s[i + 3] == "-" {
                var j = i + 4
                while j + 2 < s.count, !(s[j] == "-" && s[j + 1] == "-" && s[j + 2] == ">") { j += 1 }
                if j + 2 < s.count { i = j + 3; continue }
                out.append(s[i]); i += 1; continue
            }
            let next = s[i + 1]
            let opensTag = isASCIILetter(next) || next == "!" || (next == "/" && i + 2 < s.count && isASCIILetter(s[i + 2]))
            guard opensTag else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            while j < s.count, s[j] != ">", s[j] != "<" { j += 1 }
            if j < s.count, s[j] == ">" {
                i = j + 1
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    private static let namedEntities: [String: Unicode.Scalar] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ",
    ]

    /// Decodes `&name;`, `&#NN;` and `&#xHH;` for the entities listed in ``CleaningOptions``.
    private static func decodeEntities(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard s[i] == "&", let semicolon = s[(i + 1)..<min(s.count, i + 12)].firstIndex(of: ";") else {
                out.append(s[i]); i += 1; continue
            }
            var name = String.UnicodeScalarView()
            name.append(contentsOf: s[(i + 1)..<semicolon])
            let entity = String(name)
            var decoded: Unicode.Scalar?
            if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                decoded = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
            } else if entity.hasPrefix("#") {
                decoded = UInt32(entity.dropFirst(1)).flatMap(Unicode.Scalar.init)
            } else {
                decoded = namedEntities[entity]
            }
            if let decoded {
                out.append(decoded)
                i = semicolon + 1
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    private static func isHorizontalSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || (c != "\n" && c.properties.isWhitespace)
    }

    private static func trimLineEnds(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var pending = 0  // horizontal spaces not yet known to be followed by text
        for c in s {
            if c == "\n" {
                out.removeLast(pending)
                pending = 0
                out.append(c)
            } else {
                out.append(c)
                pending = isHorizontalSpace(c) ? pending + 1 : 0
            }
        }
        out.removeLast(pending)
        return out
    }

    private static func collapseWhitespace(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var spaces = 0, newlines = 0
        func flush() {
            if out.isEmpty { spaces = 0; newlines = 0; return }
            if newlines > 0 {
                out.append("\n")
                if newlines > 1 { out.append("\n") }
            } else if spaces > 0 {
                out.append(" ")
            }
            spaces = 0; newlines = 0
        }
        for c in s {
            if c == "\n" { newlines += 1 }
            else if isHorizontalSpace(c) { spaces += 1 }
            else { flush(); out.append(c) }
        }
        return out
    }
}
