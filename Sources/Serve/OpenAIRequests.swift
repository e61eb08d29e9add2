/// Request bodies of the OpenAI-compatible endpoints. Unknown fields are ignored; every field the
/// server honours is decoded with its OpenAI name and checked by ``OpenAISampling/generationConfig(defaultMaxTokens:)``.

/// A string or a list of strings (OpenAI's `prompt` and `stop` accept both).
struct OneOrMany: Decodable, Equatable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let one = try? c.decode(String.self) {
            values = [one]
        } else {
            values = try c.decode([String].self)
        }
    }
}

/// The sampling fields both endpoints share.
struct OpenAISampling: Decodable, Equatable {
    var model: String?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Float?
    var topP: Float?
    var topK: Int?
    var stop: OneOrMany?
    var seed: Int64?
    var n: Int?
    var presencePenalty: Float?
    var frequencyPenalty: Float?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var logprobs: LogprobsField?
    var topLogprobs: TopLogprobsField?

    struct StreamOptions: Decodable, Equatable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// `logprobs` as sent: a boolean (chat) or an integer (completions); which one an endpoint takes,
    /// and its range, is checked by ``OpenAISampling/logprobsCount(for:)``. Any other JSON value is a 400.
    enum LogprobsField: Decodable, Equatable {
        case flag(Bool)
        case count(Int)

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let flag = try? c.decode(Bool.self) {
                self = .flag(flag)
            } else if let count = try? c.decode(Int.self) {
                self = .count(count)
            } else {
                throw OpenAIError.invalidValue("logprobs must be a boolean (chat) or an integer (completions)", param: "logprobs")
            }
        }
    }

    /// `top_logprobs` (chat): an integer; any other JSON value is a 400 naming the field.
    struct TopLogprobsField: Decodable, Equatable {
        var value: Int

        init(from decoder: any Decoder) throws {
            guard let value = try? decoder.singleValueContainer().decode(Int.self) else {
                throw OpenAIError.invalidValue("top_logprobs must be an integer between 0 and 20", param: "top_logprobs")
            }
            self.value = value
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, temperature, stop, seed, n, stream, logprobs
        case topLogprobs = "top_logprobs"
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p", topK = "top_k"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty", streamOptions = "stream_options"
    }
}

/// `POST /v1/completions`.
struct CompletionRequest: Decodable {
    var sampling: OpenAISampling
    var prompt: OneOrMany
    var echo: Bool?

    enum CodingKeys: String, CodingKey { case prompt, echo }

    init(from decoder: any Decoder) throws {
        sampling = try OpenAISampling(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.decode(OneOrMany.self, forKey: .prompt)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
    }
}

/// `POST /v1/chat/completions`.
struct ChatCompletionRequest: Decodable {
    var sampling: OpenAISampling
    var messages: [Message]

    /// A message; `content` is a string or a list of text parts.
    struct Message: Decodable {
        var role: String
        var content: String

        enum CodingKeys: String, CodingKey { case role, content }
        struct Part: Decodable { var type: String; var text: String? }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decode(String.self, forKey: .role)
            if let text = try? c.decode(String.self, forKey: .content) {
                content = text
            } else if let parts = try? c.decode([Part].self, forKey: .content) {
                guard parts.allSatisfy({ $0.type == "text" }) else {
                    throw OpenAIError.invalidValue("only text content parts are supported", param: "messages")
                }
                content = parts.compactMap(\.text).joined()
            } else if try c.decodeNil(forKey: .content) {
                content = ""
            } else {
                throw OpenAIError.invalidValue("message content must be a string or a list of text parts", param: "messages")
            }
        }
    }

    enum CodingKeys: String, CodingKey { case messages }

    init(from decoder: any Decoder) throws {
        sampling = try OpenAISampling(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decode([Message].self, forKey: .messages)
    }
}
