import Tailor

/// The `logprobs` objects of the OpenAI-compatible responses, built from the scheduler's
/// ``TokenLogprobs`` (the log-softmax of the model's raw logits, before penalties, temperature and
/// filters; see ``OpenAISampling/logprobsCount(for:)`` for what each endpoint accepts).
///
/// Every generated token is listed, the end-of-sequence token included, so a choice lists
/// `usage.completion_tokens` tokens summed over its choices. A token's `token` string is its bytes
/// decoded on their own, lossily: a byte-level piece that is only part of a UTF-8 character shows
/// U+FFFD there, while chat's `bytes` carry it exactly. Log-probabilities that JSON cannot hold
/// (−infinity) are sent as −9999, as OpenAI does.

/// A log-probability as JSON can carry it.
@inline(__always)
func jsonLogprob(_ value: Float) -> Float { value.isFinite ? value : -9999 }

/// `choices[i].logprobs` of `/v1/completions`: OpenAI's legacy object, one entry per token in each list.
struct CompletionLogprobs: Encodable, Equatable {
    var tokens: [String] = []
    var tokenLogprobs: [Float] = []
    var topLogprobs: [TopLogprobMap] = []
    /// Per token, the character (Unicode scalar) offset in the choice's text where its text starts
    /// (the character its first byte belongs to, for a piece of a multi-byte character).
    var textOffset: [Int] = []

    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }
}

/// One `top_logprobs` entry of the legacy object: `{token: logprob}` in rank order; when two tokens
/// decode to the same string, the more probable one is kept.
struct TopLogprobMap: Encodable, Equatable {
    var entries: [Entry] = []

    /// A token string and its log-probability.
    struct Entry: Equatable {
        var token: String
        var logprob: Float
    }

    /// Adds `token` unless a token with the same string is already there.
    mutating func add(_ token: String, _ logprob: Float) {
        guard !entries.contains(where: { $0.token == token }) else { return }
        entries.append(Entry(token: token, logprob: logprob))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for entry in entries { try c.encode(entry.logprob, forKey: Key(stringValue: entry.token)) }
    }

    /// A key that is any token string.
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// `choices[i].logprobs` of `/v1/chat/completions`.
struct ChatLogprobs: Encodable, Equatable {
    var content: [ChatTokenLogprob] = []
}

/// One token of chat's `logprobs.content`, with its most probable alternatives.
struct ChatTokenLogprob: Encodable, Equatable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
    var topLogprobs: [ChatTopLogprob]

    enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
}

/// One alternative of chat's `top_logprobs`.
struct ChatTopLogprob: Encodable, Equatable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
}

/// One choice's log-probabilities in its endpoint's shape, built token by token: the whole response
/// takes everything once; a stream takes what came since the last chunk, with the legacy object's
/// text offsets continuing across chunks.
struct ChoiceLogprobs {
    let kind: CompletionKind
    let tokenizer: any Tokenizer
    private var completion = CompletionLogprobs()
    private var chat = ChatLogprobs()
    /// Characters (UTF-8 lead bytes) of the choice's text so far.
    private var offset = 0

    /// An empty collection for a choice of `kind`, with token strings from `tokenizer`.
    init(kind: CompletionKind, tokenizer: any Tokenizer) {
        self.kind = kind
        self.tokenizer = tokenizer
    }

    /// Whether nothing was added since the last `take`.
    var isEmpty: Bool { kind == .text ? completion.tokens.isEmpty : chat.content.isEmpty }

    /// Adds generated token `id` with its log-probabilities.
    mutating func append(_ id: Int, _ logprobs: TokenLogprobs) {
        let bytes = tokenizer.bytes(forToken: id)
        let token = String(decoding: bytes, as: UTF8.self)
        switch kind {
        case .text:
            var top = TopLogprobMap()
            for entry in logprobs.top { top.add(String(decoding: tokenizer.bytes(forToken: entry.token), as: UTF8.self),
                                                jsonLogprob(entry.logprob)) }
            top.add(token, jsonLogprob(logprobs.logprob))  // the sampled token is always listed
            completion.tokens.append(token)
            completion.tokenLogprobs.append(jsonLogprob(logprobs.logprob))
            completion.topLogprobs.append(top)
            // Special tokens add no text (the streamer skips them). A token starting inside a character
            // (a byte-level piece of it) is placed at that character.
            let text = tokenizer.isSpecial(id) ? [] : bytes
            let inside = text.first.map { $0 & 0xC0 == 0x80 } == true && offset > 0
            completion.textOffset.append(inside ? offset - 1 : offset)
            offset += text.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        case .chat:
            let top = logprobs.top.map { entry -> ChatTopLogprob in
                let b = tokenizer.bytes(forToken: entry.token)
                return ChatTopLogprob(token: String(decoding: b, as: UTF8.self), logprob: jsonLogprob(entry.logprob), bytes: b)
            }
            chat.content.append(ChatTokenLogprob(token: token, logprob: jsonLogprob(logprobs.logprob), bytes: bytes,
                                                 topLogprobs: top))
        }
    }

    /// The legacy object of the tokens added since the last take (text completions).
    mutating func takeCompletion() -> CompletionLogprobs {
        defer { completion = CompletionLogprobs() }
        return completion
    }

    /// The chat object of the tokens added since the last take.
    mutating func takeChat() -> ChatLogprobs {
        defer { chat = ChatLogprobs() }
        return chat
    }
}
