/// Errors from loading a model.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    /// The architecture is not one Tailor implements.
    case unsupportedArchitecture(String)
    /// The configuration is inconsistent or uses an unsupported option.
    case invalidConfiguration(String)
    /// A required file is missing.
    case missingFile(String)
    /// A file could not be parsed.
    case malformedFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a): return "unsupported model architecture '\(a)' (supported: llama, mistral, qwen2, gpt2)"
        case .invalidConfiguration(let r): return "invalid model configuration: \(r)"
        case .missingFile(let p): return "missing file: \(p)"
        case .malformedFile(let p, let r): return "malformed file \(p): \(r)"
        }
    }
}
