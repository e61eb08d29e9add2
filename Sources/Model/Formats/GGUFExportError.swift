/// Why a model, adapter or tokenizer could not be written as GGUF.
public enum GGUFExportError: Error, Equatable, CustomStringConvertible {
    /// A tensor cannot be stored as requested (name, rank, block multiple, type).
    case invalidTensor(name: String, reason: String)
    /// A metadata value cannot be encoded.
    case invalidMetadata(key: String, reason: String)
    /// The model has a part GGUF (or llama.cpp) has no place for.
    case unsupportedModel(String)
    /// The tokenizer cannot be described in GGUF's `tokenizer.ggml.*` keys.
    case unsupportedTokenizer(String)
    /// The file could not be written.
    case cannotWrite(path: String, reason: String)

    /// A readable explanation of the problem.
    public var description: String {
        switch self {
        case .invalidTensor(let name, let reason): return "cannot write tensor \"\(name)\" to GGUF: \(reason)"
        case .invalidMetadata(let key, let reason): return "cannot write GGUF metadata \"\(key)\": \(reason)"
        case .unsupportedModel(let why): return "cannot export this model as GGUF: \(why)"
        case .unsupportedTokenizer(let why): return "cannot export this tokenizer as GGUF: \(why)"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}
