import Tailor

/// Response bodies of the OpenAI-compatible endpoints, in OpenAI's field names (explicit `null`
/// where OpenAI sends one).

/// Token counts of a request.
struct Usage: Encodable, Equatable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
    }
}

/// One choice of a completion (`text_completion`), whole or as a stream chunk's delta.
struct CompletionChoice: Encodable {
    var text: String
    var index: Int
    /// The tokens' log-probabilities when the request asked for them (else `null`).
    var logprobs: CompletionLogprobs? = nil
    var finishReason: String?

    enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(index, forKey: .index)
        try c.encode(logprobs, forKey: .logprobs)
        try c.encode(finishReason, forKey: .finishReason)
    }
}

/// A chat message or a stream chunk's delta.
struct ChatDelta: Encodable {
    var role: String?
    var content: String?
}

/// One choice of a chat completion: `message` when whole, `delta` in a stream chunk.
struct ChatChoice: Encodable {
    var index: Int
    var message: ChatDelta?
    var delta: ChatDelta?
    /// The tokens' log-probabilities when the request asked for them (else `null`).
    var logprobs: ChatLogprobs? = nil
    var finishReason: String?

    enum CodingKeys: String, CodingKey { case index, message, delta, logprobs, finishReason = "finish_reason" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encodeIfPresent(message, forKey: .message)
        try c.encodeIfPresent(delta, forKey: .delta)
        try c.encode(logprobs, forKey: .logprobs)
        try c.encode(finishReason, forKey: .finishReason)
    }
}

/// A completion response or stream chunk (`object` tells which).
struct CompletionBody<Choice: Encodable>: Encodable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    var object = "list"
    var data: [Entry]

    struct Entry: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy: String
        /// The base model an adapter applies to (absent for the base itself).
        var parent: String?

        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by", parent }
    }
}

extension FinishReason {
    /// OpenAI's `finish_reason`: "length", or "stop" for a stop string or the end-of-sequence token.
    var openAIName: String? {
        switch self {
        case .length: "length"
        case .endOfSequence, .stopString: "stop"
        case .cancelled: nil
        }
    }
}
