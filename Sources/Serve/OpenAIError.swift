import Tailor
import Hummingbird

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
/// its HTTP status.
struct OpenAIError: Error, Equatable {
    /// HTTP status.
    var status: HTTPResponse.Status
    var message: String
    /// OpenAI's error type ("invalid_request_error", "rate_limit_error", "server_error").
    var type: String
    /// The request field at fault, when one is.
    var param: String?
    /// A machine-readable code, when there is one.
    var code: String?

    init(status: HTTPResponse.Status, message: String, type: String, param: String?, code: String?) {
        (self.status, self.message, self.type, self.param, self.code) = (status, message, type, param, code)
    }

    /// A 400 for a bad field value.
    static func invalidValue(_ message: String, param: String?) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: "invalid_value")
    }

    /// A 400 for a body that is not the JSON the endpoint expects.
    static func malformedBody(_ message: String) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, type: "invalid_request_error", param: nil, code: "invalid_json")
    }

    /// A 400 for a `model` that is neither the base model nor a loaded adapter.
    static func unknownModel(_ name: String) -> OpenAIError {
        OpenAIError(status: .badRequest, message: "the model '\(name)' does not exist; see GET /v1/models",
                    type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// The error for a scheduler's refusal (429 when its queue is full).
    init(_ error: BatchSchedulerError) {
        switch error {
        case .queueFull:
            self.init(status: .tooManyRequests, message: error.description, type: "rate_limit_error", param: nil,
                      code: "rate_limit_exceeded")
        case .promptTooLong:
            self.init(status: .badRequest, message: error.description, type: "invalid_request_error", param: "messages",
                      code: "context_length_exceeded")
        case .emptyPrompt:
            self.init(status: .badRequest, message: error.description, type: "invalid_request_error", param: "prompt",
                      code: "invalid_value")
        case .unknownAdapter(let name):
            self = .unknownModel(name)
        case .invalidChoices:
            self = .invalidValue(error.description, param: "n")
        case .invalidLogprobs:
            self = .invalidValue(error.description, param: "logprobs")
        case .shutDown:
            self.init(status: .serviceUnavailable, message: error.description, type: "server_error", param: nil, code: nil)
        }
    }

    /// The error to answer for anything thrown while handling a request.
    static func from(_ error: any Error) -> OpenAIError {
        switch error {
        case let e as OpenAIError: return e
        case let e as BatchSchedulerError: return OpenAIError(e)
        case let e as GenerationError:
            if case .invalidConfig(let field, _) = e { return .invalidValue(e.description, param: field) }
            return .invalidValue(e.description, param: nil)
        case let e as ChatTemplateError: return .invalidValue(e.description, param: "messages")
        case let e as DecodingError: return .malformedBody(DecodingErrorText.describe(e))
        default:
            return OpenAIError(status: .internalServerError, message: "internal error: \(error)", type: "server_error",
                               param: nil, code: nil)
        }
    }

    /// The JSON body.
    var body: ErrorBody {
        ErrorBody(error: .init(message: message, type: type, param: param, code: code))
    }

    /// `{"error": {…}}`, with explicit nulls.
    struct ErrorBody: Encodable {
        var error: Detail
        struct Detail: Encodable {
            var message: String
            var type: String
            var param: String?
            var code: String?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)
                try c.encode(code, forKey: .code)
            }
            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
    }
}


/// Short, client-facing text for JSON decoding failures.
enum DecodingErrorText {
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at '\(p)'"
        }
        switch error {
        case .dataCorrupted(let c): return "the body is not valid JSON\(path(c))"
        case .keyNotFound(let key, let c): return "missing field '\(key.stringValue)'\(path(c))"
        case .typeMismatch(_, let c): return "wrong type\(path(c)): \(c.debugDescription)"
        case .valueNotFound(_, let c): return "missing value\(path(c))"
        @unknown default: return "the body could not be decoded"
        }
    }
}
