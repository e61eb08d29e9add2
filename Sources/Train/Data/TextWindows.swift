import Model

/// Plain text as language-modelling examples for teacher-forced scoring (perplexity on general
/// text, to measure forgetting) or as reference data (an EWC Fisher estimate).
///
/// The text is encoded once, without added special tokens, and its ids are cut one after another
/// into windows of `length` tokens (the last one shorter; a 1-token remainder is dropped, as it
/// predicts nothing). Windows do not overlap, and every token but a window's first is a target,
/// so the perplexity is per predicted token with at most `length − 1` tokens of context.
///
/// ```swift
/// let windows = try TextWindows.batcher(text: text, tokenizer: tokenizer,
///                                       length: min(512, model.description.maxPositions), batchSize: 4)
/// let general = try TeacherForcedEvaluator.evaluate(model, on: windows)
/// ```
public enum TextWindows {
    /// The windows of `tokens`; throws ``DataError/invalidConfiguration(_:)`` for a `length`
    /// below 2 or a negative id, and ``DataError/noUsableExamples(source:)`` when
    /// fewer than two tokens are given.
    public static func examples(tokens: [Int], length: Int) throws -> [TokenizedExample] {
        guard length >= 2 else { throw DataError.invalidConfiguration("text windows need at least 2 tokens (got \(length))") }
        guard tokens.count >= 2 else { throw DataError.noUsableExamples(source: "a text of \(tokens.count) token(s)") }
        if let bad = tokens.first(where: { $0 < 0 }) {
            throw DataError.invalidConfiguration("token id \(bad) is negative")
        }
        let ids = tokens
        return stride(from: 0, to: ids.count, by: length).compactMap { start in
            let window = Array(ids[start..<min(start + length, ids.count)])
            guard window.count >= 2 else { return nil }
            return TokenizedExample(inputIDs: window, labels: [TokenizedExample.ignoreIndex] + window.dropFirst())
        }
    }

    /// `text` encoded by `tokenizer` and cut into windows of `length` tokens.
    public static func examples(text: String, tokenizer: any Tokenizer, length: Int) throws -> [TokenizedExample] {
        try examples(tokens: tokenizer.encode(text, addSpecialTokens: false), length: length)
    }

    /// The windows of `text` in batches of `batchSize` rows, in text order (no shuffling), padded
    /// with the tokenizer's pad token (or end-of-sequence token, or 0).
    public static func batcher(text: String, tokenizer: any Tokenizer, length: Int, batchSize: Int) throws -> Batcher {
        let windows = try examples(text: text, tokenizer: tokenizer, length: length)
        let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
        return try Batcher(examples: windows,
                           options: BatchingOptions(batchSize: batchSize, groupByLength: false, shuffle: false),
                           maxSequenceLength: length, padTokenID: pad, seed: 0)
    }
}
