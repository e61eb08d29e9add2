/// Why a safetensors file could not be read or written.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file is shorter than its 8-byte header length plus the header it announces.
    case truncated(needed: UInt64, available: Int)
    /// The announced header length exceeds the sanity limit.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The header is not valid UTF-8 JSON of the expected structure.
    case invalidHeader(String)
    /// A tensor names a dtype the format does not define.
    case unknownDType(tensor: String, dtype: String)
    /// A tensor's shape, dtype and byte range disagree, or it lies outside the data section.
    case invalidTensor(tensor: String, reason: String)
    /// Tensor byte ranges overlap or leave holes in the data section.
    case invalidLayout(String)
    /// No tensor of this name.
    case missingTensor(String)
    /// The tensor's dtype cannot be converted to Float32.
    case unsupportedDType(tensor: String, dtype: SafetensorsDType)
    /// A name or metadata entry cannot be written.
    case invalidInput(String)
    /// Writing the file failed.
    case cannotWrite(path: String, reason: String)

    /// A readable explanation of the problem.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open safetensors file \(path): \(reason)"
        case .truncated(let needed, let available):
            return "safetensors file is truncated: needs \(needed) bytes, has \(available)"
        case .headerTooLarge(let length, let limit):
            return "safetensors header of \(length) bytes exceeds the limit of \(limit)"
        case .invalidHeader(let why): return "invalid safetensors header: \(why)"
        case .unknownDType(let tensor, let dtype): return "tensor \"\(tensor)\" has unknown dtype \"\(dtype)\""
        case .invalidTensor(let tensor, let reason): return "tensor \"\(tensor)\": \(reason)"
        case .invalidLayout(let why): return "invalid safetensors data layout: \(why)"
        case .missingTensor(let name): return "safetensors file has no tensor \"\(name)\""
        case .unsupportedDType(let tensor, let dtype):
            return "tensor \"\(tensor)\" has dtype \(dtype.rawValue); only F32, F16 and BF16 convert to Float32"
        case .invalidInput(let why): return "cannot write safetensors: \(why)"
        case .cannotWrite(let path, let reason): return "cannot write safetensors file \(path): \(reason)"
        }
    }
}
