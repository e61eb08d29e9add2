import Model

extension Generator {
    /// Answers a conversation: renders `messages` with the model's chat template (detected from the
    /// tokenizer's `chat_template`, or `template` when given) plus the assistant prompt, then
    /// generates. Generation stops at the template's end-of-turn token (the tokenizer's EOS) or a
    /// stop string.
    public func chat(_ messages: [ChatMessage], template: ChatTemplate? = nil, config: GenerationConfig = .greedy,
                     adapter: AdapterChoice = .current, onEvent: ((GenerationEvent) -> Bool)? = nil) throws -> GenerationResult {
        guard let template = template ?? ChatTemplate.detect(tokenizer: tokenizer) else {
            throw GenerationError.invalidPrompt("the tokenizer has no recognised chat template; pass one")
        }
        var config = config
        if let endOfTurn = template.endOfTurnToken.flatMap({ tokenizer.tokenID(for: $0) }), !config.stopTokenIDs.contains(endOfTurn) {
            config.stopTokenIDs.append(endOfTurn)
        }
        let prompt = try template.render(messages, addGenerationPrompt: true)
        return try generate(prompt: prompt, config: config, addSpecialTokens: false, adapter: adapter, onEvent: onEvent)
    }
}

extension ChatTemplate {
    /// The token that closes an assistant turn, when the template has one.
    var endOfTurnToken: String? {
        switch self {
        case .chatML: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        default: return nil
        }
    }
}
