/// Errors from creating, loading, saving or using adapters.
public enum AdapterError: Error, Equatable, CustomStringConvertible {
    /// A setting is out of range.
    case invalidConfiguration(String)
    /// A feature of the file format or method that Tailor does not implement.
    case unsupported(String)
    /// A `peft_type` or method name no registered method has.
    case unknownMethod(String, supported: [String])
    /// No module matched the method's targets.
    case noTargetModules(String)
    /// An adapter name is unknown or already taken.
    case adapterName(String)
    /// An adapter file or tensor does not fit the model.
    case incompatibleAdapter(String)
    /// A folder that is not an adapter Tailor can read.
    case notAnAdapterFolder(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid adapter configuration: \(s)"
        case .unsupported(let s): return "unsupported: \(s)"
        case .unknownMethod(let m, let supported):
            return "unknown adapter method '\(m)'; supported: \(supported.joined(separator: ", "))"
        case .noTargetModules(let s): return "no module matches the targets \(s)"
        case .adapterName(let s): return s
        case .incompatibleAdapter(let s): return "adapter does not fit the model: \(s)"
        case .notAnAdapterFolder(let p, let r): return "\(p) is not an adapter folder Tailor can read: \(r)"
        }
    }
}
