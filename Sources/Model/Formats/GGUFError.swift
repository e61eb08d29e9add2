import Quant

/// Why a GGUF file could not be read, or a request on it could not be served.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// The first four bytes are not `GGUF`.
    case badMagic(found: [UInt8])
    /// A GGUF version other than 2 or 3.
    case unsupportedVersion(UInt32)
    /// The file ends before a field that starts at `offset` and needs `needed` bytes.
    case truncated(offset: Int, needed: Int)
    /// A string, array or count in the header is larger than the file or a sanity limit allows.
    case lengthTooLarge(what: String, length: UInt64, limit: UInt64)
    /// A metadata value has a type id GGUF does not define.
    case unknownValueType(key: String, typeID: UInt32)
    /// The same metadata key appears twice.
    case duplicateKey(String)
    /// `general.alignment` is zero, not a power of two, or the wrong type.
    case invalidAlignment(String)
    /// A tensor's ggml type id is not one Tailor can read.
    case unknownTensorType(tensor: String, typeID: UInt32)
    /// A tensor's description is inconsistent (dimension count, sizes, block multiple, ...).
    case invalidTensorInfo(tensor: String, reason: String)
    /// The same tensor name appears twice.
    case duplicateTensor(String)
    /// A tensor's data does not lie inside the file's data section, or is misaligned.
    case tensorOutOfRange(tensor: String, offset: UInt64, length: UInt64, available: UInt64)
    /// No metadata value under this key.
    case missingKey(String)
    /// No tensor of this name.
    case missingTensor(String)
    /// A metadata value exists but does not have the needed type.
    case typeMismatch(key: String, expected: String)
    /// The model architecture is not one the weight-name mapping knows.
    case unsupportedArchitecture(String)
    /// Dequantizing a tensor failed.
    case dequantization(tensor: String, reason: String)

    /// A readable explanation of the problem.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open GGUF file \(path): \(reason)"
        case .badMagic(let found): return "not a GGUF file: magic bytes are \(found), expected \"GGUF\""
        case .unsupportedVersion(let v): return "unsupported GGUF version \(v) (supported: 2, 3)"
        case .truncated(let offset, let needed):
            return "GGUF file is truncated: needed \(needed) bytes at offset \(offset)"
        case .lengthTooLarge(let what, let length, let limit):
            return "GGUF \(what) of \(length) exceeds the limit of \(limit)"
        case .unknownValueType(let key, let id): return "GGUF metadata key \"\(key)\" has unknown value type \(id)"
        case .duplicateKey(let key): return "GGUF metadata key \"\(key)\" appears more than once"
        case .invalidAlignment(let why): return "invalid general.alignment: \(why)"
        case .unknownTensorType(let tensor, let id):
            return "tensor \"\(tensor)\" has ggml type \(id), which is not supported "
                + "(supported: \(GGMLType.allCases.map(\.name).joined(separator: ", ")))"
        case .invalidTensorInfo(let tensor, let reason): return "tensor \"\(tensor)\": \(reason)"
        case .duplicateTensor(let name): return "tensor \"\(name)\" appears more than once"
        case .tensorOutOfRange(let tensor, let offset, let length, let available):
            return "tensor \"\(tensor)\" data (offset \(offset), \(length) bytes) lies outside the "
                + "\(available)-byte data section or is misaligned"
        case .missingKey(let key): return "GGUF metadata has no key \"\(key)\""
        case .missingTensor(let name): return "GGUF file has no tensor \"\(name)\""
        case .typeMismatch(let key, let expected): return "GGUF metadata \"\(key)\" is not \(expected)"
        case .unsupportedArchitecture(let arch): return "unsupported GGUF architecture \"\(arch)\""
        case .dequantization(let tensor, let reason): return "cannot dequantize tensor \"\(tensor)\": \(reason)"
        }
    }
}
