/// Why a bitsandbytes-style quantized tensor could not be built or read: inconsistent or
/// truncated quantization state. Every case names the tensor concerned.
public enum QuantizationStateError: Error, Equatable, CustomStringConvertible {
    /// A blocksize outside what the format accepts.
    case invalidBlockSize(tensor: String, blockSize: Int)
    /// A 4-bit type other than `nf4` / `fp4`.
    case unknownQuantType(tensor: String, type: String)
    /// A buffer holds the wrong number of elements or bytes.
    case wrongCount(tensor: String, part: String, expected: Int, actual: Int)
    /// The shape is empty, negative or does not describe a matrix.
    case invalidShape(tensor: String, shape: [Int])
    /// The packed JSON state (`quant_state.bitsandbytes__…`) is missing, not JSON or lacks a field.
    case invalidState(tensor: String, reason: String)

    public var description: String {
        switch self {
        case .invalidBlockSize(let t, let b): return "tensor \"\(t)\": blocksize \(b) is not one of 32, 64, …, 4096"
        case .unknownQuantType(let t, let q): return "tensor \"\(t)\": unknown 4-bit quant type \"\(q)\" (expected nf4 or fp4)"
        case .wrongCount(let t, let p, let e, let a): return "tensor \"\(t)\": \(p) has \(a) elements, expected \(e)"
        case .invalidShape(let t, let s): return "tensor \"\(t)\": invalid shape \(s)"
        case .invalidState(let t, let r): return "tensor \"\(t)\": invalid quantization state: \(r)"
        }
    }
}
