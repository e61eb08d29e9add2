/// Cuts normalized text into pieces ("pre-tokens") that BPE then encodes independently.
///
/// A pre-tokenizer is a sequence of steps; each step refines every piece of the previous one,
/// like a Hugging Face `Sequence` pre-tokenizer or llama.cpp's list of regexes.
struct PreTokenizer: Sendable {
    /// One splitting rule.
    enum Step: Sendable {
        /// GPT-2's regex (also the Hugging Face `ByteLevel` pre-tokenizer with `use_regex`).
        case gpt2
        /// Llama-3's regex; `maxDigits` 3, or 1 for Qwen2.
        case llama3(maxDigits: Int)
        /// A `Split` regex with the `Isolated` behaviour.
        case pattern(SplitPattern)
        /// Hugging Face `Digits`: isolate each digit, or each run of digits (`\p{N}`).
        case digits(individual: Bool)
        /// Split before every occurrence of a scalar, keeping it with what follows (`Metaspace` with `split`).
        case splitBefore(UInt32)
    }

    /// A short name for messages (e.g. `qwen2`).
    let name: String
    /// Steps applied in order.
    let steps: [Step]

    /// Fills `ends` with the end index of each piece of `text`, in order (empty text gives no pieces).
    func split(_ text: borrowing ScalarText, into ends: inout [Int], scratch: inout [Int]) {
        ends.removeAll(keepingCapacity: true)
        guard text.count > 0 else { return }
        ends.append(text.count)
        for step in steps {
            swap(&ends, &scratch)
            ends.removeAll(keepingCapacity: true)
            var start = 0
            for end in scratch {
                Self.apply(step, text, start..<end, &ends)
                start = end
            }
        }
    }

    private static func apply(_ step: Step, _ text: borrowing ScalarText, _ range: Range<Int>, _ ends: inout [Int]) {
        switch step {
        case .gpt2:
            GPT2Splitter.split(text, range, into: &ends)
        case let .llama3(maxDigits):
            Llama3Splitter.split(text, range, maxDigits: maxDigits, into: &ends)
        case let .pattern(pattern):
            pattern.split(text, range, into: &ends)
        case let .digits(individual):
            let number = ScalarClass.number.rawValue
            var position = range.lowerBound
            while position < range.upperBound {
                let isDigit = text.classes[position] & number != 0
                var next = position + 1
                if !(isDigit && individual) {
                    while next < range.upperBound, (text.classes[next] & number != 0) == isDigit { next += 1 }
                }
                ends.append(next)
                position = next
            }
        case let .splitBefore(scalar):
            var index = range.lowerBound + 1
            while index < range.upperBound {
                if text.values[index] == scalar { ends.append(index) }
                index += 1
            }
            ends.append(range.upperBound)
        }
    }
}
