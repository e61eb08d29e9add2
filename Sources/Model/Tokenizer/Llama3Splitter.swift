/// The Llama-3 pre-tokenizer pattern as a hand-written scanner (Qwen2 uses it with single digits):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// `maxDigits` is 3 for Llama-3 (`\p{N}{1,3}`) and 1 for Qwen2 (`\p{N}`).
enum Llama3Splitter {
    /// Appends the end index of each piece of `text[range]` to `ends`.
    static func split(_ text: borrowing ScalarText, _ range: Range<Int>, maxDigits: Int, into ends: inout [Int]) {
        text.values.withUnsafeBufferPointer { values in
            text.classes.withUnsafeBufferPointer { classes in
                scan(values, classes, range, maxDigits, &ends)
            }
        }
    }

    private static func scan(
        _ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
        _ range: Range<Int>, _ maxDigits: Int, _ ends: inout [Int]
    ) {
        let letter = ScalarClass.letter.rawValue
        let number = ScalarClass.number.rawValue
        let space = ScalarClass.whitespace.rawValue
        let end = range.upperBound
        var position = range.lowerBound
        @inline(__always) func isNewline(_ value: UInt32) -> Bool { value == 0x0A || value == 0x0D }
        while position < end {
            let value = values[position]
            let kind = classes[position]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if value == 0x27, let length = Contractions.matchLength(values, after: position, end: end, caseInsensitive: true) {
                position += length
                ends.append(position)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if kind & letter != 0 || (kind & number == 0 && !isNewline(value) && position + 1 < end && classes[position + 1] & letter != 0) {
                position += 1
                while position < end, classes[position] & letter != 0 { position += 1 }
                ends.append(position)
                continue
            }
            // \p{N}{1,maxDigits}
            if kind & number != 0 {
                var next = position + 1
                while next < end, next - position < maxDigits, classes[next] & number != 0 { next += 1 }
                position = next
                ends.append(position)
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            let start = value == 0x20 ? position + 1 : position
            if start < end, classes[start] & (letter | number | space) == 0 {
                var next = start + 1
                while next < end, classes[next] & (letter | number | space) == 0 { next += 1 }
                while next < end, isNewline(values[next]) { next += 1 }
                position = next
                ends.append(position)
                continue
            }
            // \s*[\r\n]+ | \s+(?!\S) | \s+
            var runEnd = position + 1
            var afterLastNewline = isNewline(value) ? position + 1 : -1
            while runEnd < end, classes[runEnd] & space != 0 {
                if isNewline(values[runEnd]) { afterLastNewline = runEnd + 1 }
                runEnd += 1
            }
            if afterLastNewline > 0 {
                position = afterLastNewline
            } else {
                if runEnd < end && runEnd - position >= 2 {
                    runEnd -= 1  // leave the last space to prefix the following word
                }
                position = runEnd
            }
            ends.append(position)
        }
    }
}
