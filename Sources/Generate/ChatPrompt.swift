import Model

/// A conversation turned into a prompt the way ``Generator/chat(_:template:config:adapter:onEvent:)``
/// does: the chat template (detected from the tokenizer unless given) renders the messages plus the
/// assistant prompt, and the template's end-of-turn token becomes a stop token.
public struct ChatPrompt: Sendable, Equatable {
    /// The rendered prompt's token ids (the template already holds any BOS).
    public var tokens: [Int]
    /// The settings with the end-of-turn stop token added.
    public var config: GenerationConfig

    /// Renders `messages` for `tokenizer`'s model. Throws `GenerationError.invalidPrompt` when the
    /// tokenizer has no recognised template and none is given, and the template's errors for
    /// conversations it cannot render.
    public init(messages: [ChatMessage], tokenizer: any Tokenizer, template: ChatTemplate? = nil,
                config: GenerationConfig) throws {
        guard let template = template ?? ChatTemplate.detect(tokenizer: tokenizer) else {
            throw GenerationError.invalidPrompt("the tokenizer has no recognised chat template")
        }
        var config = config
        if let endOfTurn = template.endOfTurnToken.flatMap({ tokenizer.tokenID(for: $0) }), !config.stopTokenIDs.contains(endOfTurn) {
            config.stopTokenIDs.append(endOfTurn)
        }
        let text = try template.render(messages, addGenerationPrompt: true)
        self.tokens = tokenizer.encode(text, addSpecialTokens: false)
        self.config = config
    }
}
