/// Why a generation ended.
public enum FinishReason: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// `maxNewTokens` tokens were generated.
    case length
    /// The model produced the end-of-sequence token or one of `stopTokenIDs` (`token` is that id).
    case endOfSequence(token: Int)
    /// The text reached one of the stop strings (the one given; it is not part of the output).
    case stopString(String)
    /// The consumer cancelled the generation.
    case cancelled

    /// Short name: "length", "eos", "stop" or "cancelled" (OpenAI-style for the first three).
    public var description: String {
        switch self {
        case .length: "length"
        case .endOfSequence: "eos"
        case .stopString: "stop"
        case .cancelled: "cancelled"
        }
    }
}
