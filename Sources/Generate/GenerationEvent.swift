/// One step of a streamed generation.
public enum GenerationEvent: Sendable, Equatable {
    /// A token was generated. `text` is the new text it makes safe to show, possibly empty (the token ends
    /// inside a UTF-8 character, could begin a stop string, is a skipped special token, or is the stop
    /// token). Text held back earlier is released with a later token's event.
    case token(id: Int, text: String)
    /// Generation ended; always the last event of a stream that did not throw.
    case finished(GenerationResult)
}

/// The outcome of a generation.
public struct GenerationResult: Sendable, Equatable, Codable {
    /// All emitted text: the concatenation of every `.token` event's text.
    public var text: String
    /// Every sampled token id, including a final stop token and the token that completed a stop string.
    public var tokenIDs: [Int]
    /// Why generation ended.
    public var finishReason: FinishReason
    /// Number of prompt tokens the generation started from.
    public var promptTokenCount: Int

    /// Creates a result.
    public init(text: String, tokenIDs: [Int], finishReason: FinishReason, promptTokenCount: Int) {
        self.text = text
        self.tokenIDs = tokenIDs
        self.finishReason = finishReason
        self.promptTokenCount = promptTokenCount
    }
}
