import Model

/// sacreBLEU's default `13a` tokenizer (mteval-v13a, as used by WMT).
///
/// Drops `<skipped>`, joins `-\n` line breaks, unescapes `&quot; &amp; &lt; &gt;`, then splits off
/// punctuation and symbols, periods and commas unless they touch a digit on that side, and a
/// dash after a digit; finally collapses whitespace. Works on Unicode scalars like Python's `re`.
public enum Tokenizer13a {
    /// The space-separated tokens of `line`, byte-identical to `sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(line)`.
    public static func tokenize(_ line: String) -> String {
        tokens(line).joined(separator: " ")
    }

    /// The tokens of `line` (see ``tokenize(_:)``).
    public static func tokens(_ line: String) -> [String] {
        var text = line.replacingAll("<skipped>", with: "")
        text = text.replacingAll("-\n", with: "")
        text = text.replacingAll("\n", with: " ")
        if text.unicodeScalars.contains("&") {
            text = text.replacingAll("&quot;", with: "\"")
            text = text.replacingAll("&amp;", with: "&")
            text = text.replacingAll("&lt;", with: "<")
            text = text.replacingAll("&gt;", with: ">")
        }
        var s: [Unicode.Scalar] = [" "] + Array(text.unicodeScalars) + [" "]
        s = padSymbols(s)
        s = splitPeriodCommaAfterNonDigit(s)
        s = splitPeriodCommaBeforeNonDigit(s)
        s = splitDashAfterDigit(s)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return String(view).splitOnPythonWhitespace()
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
    private static func isPeriodOrComma(_ c: Unicode.Scalar) -> Bool { c == "." || c == "," }

    /// `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ` \1 `.
    private static func padSymbols(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count * 2)
        for c in s {
            switch c.value {
            case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F:
                out.append(" "); out.append(c); out.append(" ")
            default:
                out.append(c)
            }
        }
        return out
    }

    /// `([^0-9])([\.,])` → `\1 \2 `, matches taken left to right without overlap.
    private static func splitPeriodCommaAfterNonDigit(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count, !isDigit(s[i]), isPeriodOrComma(s[i + 1]) {
                out.append(s[i]); out.append(" "); out.append(s[i + 1]); out.append(" ")
                i += 2
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    /// `([\.,])([^0-9])` → ` \1 \2`.
    private static func splitPeriodCommaBeforeNonDigit(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count, isPeriodOrComma(s[i]), !isDigit(s[i + 1]) {
                out.append(" "); out.append(s[i]); out.append(" "); out.append(s[i + 1])
                i += 2
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    /// `([0-9])(-)` → `\1 \2 `.
    private static func splitDashAfterDigit(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count, isDigit(s[i]), s[i + 1] == "-" {
                out.append(s[i]); out.append(" "); out.append("-"); out.append(" ")
                i += 2
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }
}

extension String {
    /// Replaces every non-overlapping occurrence of `target` (compared by Unicode scalars, left to
    /// right, as Python's `str.replace`).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.unicodeScalars)
        guard !t.isEmpty else { return self }
        let s = Array(unicodeScalars)
        guard s.count >= t.count else { return self }
        var out = String.UnicodeScalarView()
        var i = 0
        var replaced = false
        while i < s.count {
            if i + t.count <= s.count, s[i] == t[0], s[i..<(i + t.count)].elementsEqual(t) {
                out.append(contentsOf: replacement.unicodeScalars)
                i += t.count
                replaced = true
            } else {
                out.append(s[i]); i += 1
            }
        }
        return replaced ? String(out) : self
    }
}
