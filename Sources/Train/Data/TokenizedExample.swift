/// One training example as token ids, with the labels the loss is computed on.
///
/// **Label convention (not shifted):** `labels` has the same length as `inputIDs` and is aligned
/// with it: `labels[t]` is either `inputIDs[t]` (a target token) or ``ignoreIndex`` (−100, no
/// loss). The trainer shifts: the logits at position `t` are scored against `labels[t + 1]`, as in
/// Hugging Face causal-LM models. `labels[0]` is always ``ignoreIndex`` because no position
/// predicts the first token, so the number of non-ignored labels is exactly the number of
/// predictions that enter the loss (``targetTokenCount``).
public struct TokenizedExample: Sendable, Hashable, Codable {
    /// The label value that excludes a position from the loss (PyTorch's `ignore_index`).
    public static let ignoreIndex = -100

    /// Token ids the model reads.
    public var inputIDs: [Int]
    /// Per-position targets: `inputIDs[t]` where trained, ``ignoreIndex`` elsewhere.
    public var labels: [Int]

    /// Creates an example; `labels` must have the same length as `inputIDs`.
    public init(inputIDs: [Int], labels: [Int]) {
        self.inputIDs = inputIDs
        self.labels = labels
    }

    /// Number of tokens.
    public var count: Int { inputIDs.count }

    /// Number of positions that contribute to the loss.
    public var targetTokenCount: Int { labels.reduce(0) { $0 + ($1 == Self.ignoreIndex ? 0 : 1) } }
}
