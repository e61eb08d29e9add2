/// GPT-2's pre-tokenizer pattern as a hand-written scanner:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// It reproduces what the regex finds (leftmost match, first alternative that succeeds), so every
/// scalar ends up in exactly one piece.
enum GPT2Splitter {
    /// Appends the end index of each piece of `text[range]` to `ends`.
    static func split(_ text: borrowing ScalarText, _ range: Range<Int>, into ends: inout [Int]) {
        text.values.withUnsafeBufferPointer { values in
            text.classes.withUnsafeBufferPointer { classes in
                scan(values, classes, range, &ends)
            }
        }
    }

    private static func scan(
        _ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
        _ range: Range<Int>, _ ends: inout [Int]
    ) {
        let letter = ScalarClass.letter.rawValue
        let number = ScalarClass.number.rawValue
        let space = ScalarClass.whitespace.rawValue
        let end = range.upperBound
        var position = range.lowerBound
        while position < end {
            let value = values[position]
            // 's|'t|'re|'ve|'m|'ll|'d
            if value == 0x27, let length = Contractions.matchLength(values, after: position, end: end, caseInsensitive: false) {
                position += length
                ends.append(position)
                continue
            }
            //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
            let start = value == 0x20 ? position + 1 : position
            if start < end {
                let first = classes[start]
                var kind: UInt8 = 0
                if first & letter != 0 {
                    kind = letter
                } else if first & number != 0 {
                    kind = number
                } else if first & space == 0 {
                    kind = 0xFF  // neither space, letter nor number
                }
                if kind != 0 {
                    var next = start + 1
                    if kind == 0xFF {
                        while next < end, classes[next] & (letter | number | space) == 0 { next += 1 }
                    } else {
                        while next < end, classes[next] & kind != 0 { next += 1 }
                    }
                    position = next
                    ends.append(position)
                    continue
                }
            }
            // \s+(?!\S) | \s+
            var runEnd = position + 1
            while runEnd < end, classes[runEnd] & space != 0 { runEnd += 1 }
            if runEnd < end && runEnd - position >= 2 {
                runEnd -= 1  // leave the last space to prefix the following word
            }
            position = runEnd
            ends.append(position)
        }
    }
}

/// The English contractions that start GPT-2 and Llama-3 patterns.
enum Contractions {
    /// Length (2 or 3) of the contraction starting with the apostrophe at `position`, if any.
    /// Case-insensitive matching follows Oniguruma's case folding (`ſ` matches `s`).
    @inline(__always)
    static func matchLength(
        _ values: UnsafeBufferPointer<UInt32>, after position: Int, end: Int, caseInsensitive: Bool
    ) -> Int? {
        guard position + 1 < end else { return nil }
        let first = fold(values[position + 1], caseInsensitive)
        if first == 0x73 || first == 0x74 || first == 0x6D || first == 0x64 {  // s t m d
            return 2
        }
        guard position + 2 < end else { return nil }
        let second = fold(values[position + 2], caseInsensitive)
        if (first == 0x72 && second == 0x65) || (first == 0x76 && second == 0x65) || (first == 0x6C && second == 0x6C) {
            return 3  // re ve ll
        }
        return nil
    }

    @inline(__always)
    private static func fold(_ value: UInt32, _ caseInsensitive: Bool) -> UInt32 {
        guard caseInsensitive else { return value }
        if value >= 0x41 && value <= 0x5A { return value + 0x20 }
        if value == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S folds to s
        return value
    }
}
