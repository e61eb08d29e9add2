/// Next-token accuracy over target positions, counting only labels that are not ignored.
///
/// Labels follow the data pipeline's convention (see ``TokenizedExample``): they are aligned with
/// the inputs and not shifted, so the prediction made at position `t` is scored against
/// `labels[t + 1]`.
public struct TokenAccuracy: Sendable, Hashable, Codable {
    /// Correctly predicted target tokens so far.
    public private(set) var correct: Int = 0
    /// Target tokens seen so far.
    public private(set) var total: Int = 0

    /// An empty accumulator.
    public init() {}

    /// Accuracy in 0…1 (nil before any target token).
    public var accuracy: Double? { total > 0 ? Double(correct) / Double(total) : nil }

    /// Adds one sequence: `predictions[t]` is the model's most likely next token at position `t`
    /// (its guess for `labels[t + 1]`). Labels equal to `ignoreIndex` are skipped.
    public mutating func add(predictions: [Int], labels: [Int], ignoreIndex: Int = TokenizedExample.ignoreIndex) throws {
        guard predictions.count == labels.count else {
            throw MetricError.shapeMismatch("\(predictions.count) predictions for \(labels.count) labels")
        }
        guard labels.count > 1 else { return }
        for t in 0..<(labels.count - 1) where labels[t + 1] != ignoreIndex {
            total += 1
            if predictions[t] == labels[t + 1] { correct += 1 }
        }
    }

    /// Adds one sequence from row-major logits `[T, vocabularySize]` by taking each row's argmax.
    public mutating func add(logits: UnsafeBufferPointer<Float>, vocabularySize: Int, labels: [Int],
                             ignoreIndex: Int = TokenizedExample.ignoreIndex) throws {
        guard vocabularySize > 0, logits.count == labels.count * vocabularySize else {
            throw MetricError.shapeMismatch("\(logits.count) logits for \(labels.count) positions × vocabulary \(vocabularySize)")
        }
        try add(predictions: Self.argmax(logits: logits, vocabularySize: vocabularySize), labels: labels, ignoreIndex: ignoreIndex)
    }

    /// The index of the largest value in each row of `[rows, vocabularySize]` logits (first on ties).
    public static func argmax(logits: UnsafeBufferPointer<Float>, vocabularySize: Int) -> [Int] {
        guard vocabularySize > 0 else { return [] }
        let rows = logits.count / vocabularySize
        var out = [Int](repeating: 0, count: rows)
        for r in 0..<rows {
            let base = r * vocabularySize
            var best = 0
            var bestValue = logits[base]
            for v in 1..<vocabularySize where logits[base + v] > bestValue {
                bestValue = logits[base + v]
                best = v
            }
            out[r] = best
        }
        return out
    }
}
