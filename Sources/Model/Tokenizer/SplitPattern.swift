/// A split regex from the small subset Tailor runs without a regex engine: a sequence of
/// character sets, each with a greedy quantifier (`?`, `*`, `+`, `{n}`, `{n,m}`), optionally ending
/// with `$`. This covers the `Split` pre-tokenizers of DeepSeek-LLM and DeepSeek-Coder, e.g.
/// `\s?[A-Za-zµÀ-Ö…]+`, `\s+$`, `\p{N}`, `[\r\n]`.
///
/// Matching follows Oniguruma as used by Hugging Face `tokenizers`: leftmost match, greedy with
/// backtracking, `$` true at the end of the text or before `\n`.
struct SplitPattern: Sendable {
    /// One character set with its repetition bounds.
    struct Atom: Sendable {
        var set: ScalarSet
        var minimum: Int
        var maximum: Int
    }

    /// The pattern's source text.
    let source: String
    /// Atoms in order.
    let atoms: [Atom]
    /// Whether the match must end at the end of the text or before a newline.
    let anchoredAtEnd: Bool

    /// Compiles `source`, throwing `TokenizerError.unsupportedPattern` when it leaves the subset.
    init(_ source: String) throws {
        self.source = source
        var parser = PatternParser(source)
        let (atoms, anchored) = try parser.parse()
        guard !atoms.isEmpty, atoms.contains(where: { $0.minimum > 0 }) else {
            throw TokenizerError.unsupportedPattern(source)  // could match the empty string
        }
        self.atoms = atoms
        self.anchoredAtEnd = anchored
    }

    /// Appends the pieces of `text[range]`: every match and every gap between matches
    /// (the `Isolated` split behaviour).
    func split(_ text: borrowing ScalarText, _ range: Range<Int>, into ends: inout [Int]) {
        text.values.withUnsafeBufferPointer { values in
            text.classes.withUnsafeBufferPointer { classes in
                var position = range.lowerBound
                var searchFrom = range.lowerBound
                while searchFrom < range.upperBound {
                    guard let (start, stop) = firstMatch(values, classes, from: searchFrom, end: range.upperBound) else { break }
                    if start > position { ends.append(start) }
                    ends.append(stop)
                    position = stop
                    searchFrom = stop
                }
                if position < range.upperBound { ends.append(range.upperBound) }
            }
        }
    }

    private func firstMatch(
        _ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>, from: Int, end: Int
    ) -> (Int, Int)? {
        var start = from
        let first = atoms[0]
        while start < end {
            if first.minimum > 0 && !first.set.contains(values[start], classBits: classes[start]) {
                start += 1
                continue
            }
            if let stop = match(atomIndex: 0, at: start, values, classes, end) {
                return (start, stop)
            }
            if atoms.count == 1 && first.maximum == Int.max {
                // A single unbounded atom that failed here fails at every later start inside the
                // same run too (its possible ends are a subset), so resume after the run.
                var runEnd = start
                while runEnd < end, first.set.contains(values[runEnd], classBits: classes[runEnd]) { runEnd += 1 }
                start = runEnd + 1
            } else {
                start += 1
            }
        }
        return nil
    }

    /// End of the match of `atoms[atomIndex...]` starting at `position`, trying longer repetitions first.
    private func match(
        atomIndex: Int, at position: Int,
        _ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>, _ end: Int
    ) -> Int? {
        guard atomIndex < atoms.count else {
            if anchoredAtEnd && !(position == end || values[position] == 0x0A) { return nil }
            return position
        }
        let atom = atoms[atomIndex]
        var count = 0
        while count < atom.maximum, position + count < end,
              atom.set.contains(values[position + count], classBits: classes[position + count]) {
            count += 1
        }
        while count >= atom.minimum {
            if let stop = match(atomIndex: atomIndex + 1, at: position + count, values, classes, end) {
                return stop
            }
            count -= 1
        }
        return nil
    }
}

/// Parses the regex subset of `SplitPattern`.
private struct PatternParser {
    let source: String
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ source: String) {
        self.source = source
        self.scalars = Array(source.unicodeScalars)
    }

    mutating func parse() throws -> ([SplitPattern.Atom], Bool) {
        var atoms: [SplitPattern.Atom] = []
        var anchored = false
        while index < scalars.count {
            if anchored { throw unsupported }  // `$` must come last
            let scalar = scalars[index]
            if scalar == "$" {
                anchored = true
                index += 1
                continue
            }
            let set = try parseSetItem()
            let (minimum, maximum) = try parseQuantifier()
            atoms.append(SplitPattern.Atom(set: set, minimum: minimum, maximum: maximum))
        }
        return (atoms, anchored)
    }

    private var unsupported: TokenizerError { .unsupportedPattern(source) }

    private mutating func parseSetItem() throws -> ScalarSet {
        let scalar = scalars[index]
        switch scalar {
        case "[":
            return try parseBracket()
        case "\\":
            var set = ScalarSet()
            try parseEscape(into: &set, insideBracket: false)
            return set
        case "(", ")", "|", "*", "+", "?", "{", "}", "^", "]":
            throw unsupported
        case ".":
            index += 1
            var set = ScalarSet()
            set.insert(0x0A...0x0A)
            set.negated = true
            return set
        default:
            index += 1
            var set = ScalarSet()
            set.insert(scalar.value...scalar.value)
            return set
        }
    }

    private mutating func parseBracket() throws -> ScalarSet {
        index += 1  // [
        var set = ScalarSet()
        if index < scalars.count && scalars[index] == "^" {
            set.negated = true
            index += 1
        }
        var first = true
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "]" && !first {
                index += 1
                return set
            }
            first = false
            if scalar == "[" { throw unsupported }  // nested classes / set operations
            var low: UInt32
            if scalar == "\\" {
                guard let literal = try parseEscape(into: &set, insideBracket: true) else { continue }
                low = literal
            } else {
                low = scalar.value
                index += 1
            }
            // A range `a-b` (a '-' before ']' is a literal).
            if index + 1 < scalars.count && scalars[index] == "-" && scalars[index + 1] != "]" {
                index += 1
                let high: UInt32
                if scalars[index] == "\\" {
                    var ignored = ScalarSet()
                    guard let literal = try parseEscape(into: &ignored, insideBracket: true) else { throw unsupported }
                    high = literal
                } else {
                    high = scalars[index].value
                    index += 1
                }
                guard low <= high else { throw unsupported }
                set.insert(low...high)
            } else {
                set.insert(low...low)
            }
        }
        throw unsupported  // unterminated bracket
    }

    /// Parses an escape. Class escapes (`\s`, `\p{L}`) are added to `set` and return nil;
    /// literal escapes return the scalar value (outside brackets they are added to `set` too).
    @discardableResult
    private mutating func parseEscape(into set: inout ScalarSet, insideBracket: Bool) throws -> UInt32? {
        index += 1  // backslash
        guard index < scalars.count else { throw unsupported }
        let scalar = scalars[index]
        index += 1
        switch scalar {
        case "s":
            set.classes.insert(.whitespace)
            return nil
        case "S":
            if insideBracket { throw unsupported }
            set.classes.insert(.whitespace)
            set.negated = true
            return nil
        case "p", "P":
            guard index < scalars.count, scalars[index] == "{" else { throw unsupported }
            guard let close = scalars[index...].firstIndex(of: "}") else { throw unsupported }
            let name = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
            index = close + 1
            let classes: ScalarClass
            switch name {
            case "L": classes = .letter
            case "N": classes = .number
            case "P": classes = .punctuation
            case "M": classes = .mark
            case "S": classes = .symbol
            default: throw unsupported
            }
            if scalar == "P" {
                if insideBracket { throw unsupported }
                set.negated = true
            }
            set.classes.insert(classes)
            return nil
        case "r": return literal(0x0D, &set, insideBracket)
        case "n": return literal(0x0A, &set, insideBracket)
        case "t": return literal(0x09, &set, insideBracket)
        case "f": return literal(0x0C, &set, insideBracket)
        case "v": return literal(0x0B, &set, insideBracket)
        default:
            // Escaped punctuation stands for itself; letters and digits would be other escapes.
            let value = scalar.value
            let isAlphanumeric = (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
            if isAlphanumeric { throw unsupported }
            return literal(value, &set, insideBracket)
        }
    }

    private func literal(_ value: UInt32, _ set: inout ScalarSet, _ insideBracket: Bool) -> UInt32 {
        if !insideBracket { set.insert(value...value) }
        return value
    }

    private mutating func parseQuantifier() throws -> (Int, Int) {
        guard index < scalars.count else { return (1, 1) }
        switch scalars[index] {
        case "?":
            index += 1
            return try rejectLazy((0, 1))
        case "*":
            index += 1
            return try rejectLazy((0, Int.max))
        case "+":
            index += 1
            return try rejectLazy((1, Int.max))
        case "{":
            guard let close = scalars[index...].firstIndex(of: "}") else { throw unsupported }
            let body = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
            index = close + 1
            let parts = body.split(separator: ",", omittingEmptySubsequences: false)
            guard let low = Int(parts[0]) else { throw unsupported }
            let high: Int
            switch parts.count {
            case 1: high = low
            case 2: high = parts[1].isEmpty ? Int.max : (Int(parts[1]) ?? -1)
            default: throw unsupported
            }
            guard low >= 0, high >= low else { throw unsupported }
            return try rejectLazy((low, high))
        default:
            return (1, 1)
        }
    }

    private mutating func rejectLazy(_ bounds: (Int, Int)) throws -> (Int, Int) {
        if index < scalars.count, scalars[index] == "?" || scalars[index] == "+" { throw unsupported }
        return bounds
    }
}
