/// Why a dataset cannot be loaded or prepared. (Individual bad lines are not errors: they are
/// skipped and listed in the ``DataReport``.)
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read.
    case unreadableFile(path: String, reason: String)
    /// No line of the file looks like any supported format.
    case cannotDetectFormat(source: String)
    /// A setting is out of range.
    case invalidConfiguration(String)
    /// Nothing is left to train on after loading, cleaning and filtering.
    case noUsableExamples(source: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .cannotDetectFormat(let source):
            return "\(source): no line has the fields of a known format (alpaca: instruction/output, chat: messages, completion: prompt/completion, text: text)"
        case .invalidConfiguration(let detail):
            return "invalid data configuration: \(detail)"
        case .noUsableExamples(let source):
            return "\(source): no usable examples remain after loading, cleaning and filtering (see the data report)"
        }
    }
}
