/// Errors raised while configuring or running text generation.
public enum GenerationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A `GenerationConfig` field holds a value outside its valid range.
    case invalidConfig(field: String, reason: String)
    /// The logits row is empty.
    case emptyLogits
    /// The prompt cannot be generated from (empty, or longer than the model's context).
    case invalidPrompt(String)
    /// The request names an adapter the model does not hold.
    case unknownAdapter(String, available: [String])
    /// No token can be sampled: every logit is -infinity or NaN (or they overflow).
    case noSampleableToken

    public var description: String {
        switch self {
        case let .invalidConfig(field, reason): "invalid generation setting `\(field)`: \(reason)"
        case .emptyLogits: "the logits row is empty"
        case let .invalidPrompt(reason): "invalid prompt: \(reason)"
        case let .unknownAdapter(name, available): "no adapter named '\(name)'; the model has \(available)"
        case .noSampleableToken: "no token can be sampled: all logits are -infinity or NaN"
        }
    }
}
