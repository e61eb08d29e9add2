/// Errors from configuring, loading or using bottleneck adapters.
public enum BottleneckError: Error, Equatable, CustomStringConvertible {
    /// A setting is out of range or malformed.
    case invalidConfiguration(String)
    /// An AdapterHub setting Tailor does not implement.
    case unsupported(String)
    /// An adapter name is unknown or already taken.
    case adapterName(String)
    /// The model has no decoder blocks with adapter slots.
    case unsupportedModel(String)
    /// A tensor of an adapter file does not fit the model (names the tensor).
    case incompatibleTensor(name: String, reason: String)
    /// The folder is not an AdapterHub bottleneck adapter, or a file in it is malformed.
    case malformedFolder(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid bottleneck adapter configuration: \(s)"
        case .unsupported(let s): return "unsupported AdapterHub setting: \(s)"
        case .adapterName(let s): return s
        case .unsupportedModel(let s): return "the model cannot hold bottleneck adapters: \(s)"
        case .incompatibleTensor(let n, let r): return "adapter tensor '\(n)' does not fit the model: \(r)"
        case .malformedFolder(let p, let r): return "'\(p)' is not a usable AdapterHub adapter folder: \(r)"
        }
    }
}
