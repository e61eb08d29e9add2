/// Why a metric cannot be computed from the given inputs.
public enum MetricError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Predictions and references must pair up one to one.
    case countMismatch(predictions: Int, references: Int)
    /// A hypothesis was given no reference at all.
    case noReferences(index: Int)
    /// Logits and labels disagree in length, or the vocabulary size is not positive.
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .countMismatch(let p, let r):
            return "\(p) predictions but \(r) references: they must pair up one to one"
        case .noReferences(let index):
            return "hypothesis \(index) has no reference"
        case .shapeMismatch(let detail):
            return "shape mismatch: \(detail)"
        }
    }
}
