/// Objectives that do not fit the model, the data or each other.
public enum ObjectiveError: Error, Equatable, CustomStringConvertible {
    /// The teacher's vocabulary differs from the student's.
    case vocabularyMismatch(teacher: Int, student: Int)
    /// A weighted objective's weights are negative, not finite or do not sum to a positive number.
    case invalidWeights([Float])
    /// A tensor of an EWC or anchor file does not fit the model (wrong shape, unknown or missing parameter).
    case parameterMismatch(tensor: String, reason: String)
    /// A setting is out of range (temperature, top-k, λ, …).
    case invalidSetting(String)
    /// Reference or auxiliary data produced no batches with targets.
    case noData(String)

    public var description: String {
        switch self {
        case .vocabularyMismatch(let t, let s):
            return "the teacher's vocabulary has \(t) tokens, the student's \(s): distillation needs the same vocabulary"
        case .invalidWeights(let w): return "objective weights \(w) must be finite, non-negative and sum to a positive number"
        case .parameterMismatch(let t, let r): return "tensor \(t) does not fit the model: \(r)"
        case .invalidSetting(let s): return "invalid objective setting: \(s)"
        case .noData(let s): return "objective has no data: \(s)"
        }
    }
}
