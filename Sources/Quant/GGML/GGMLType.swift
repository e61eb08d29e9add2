/// A ggml tensor element type that Tailor can read, identified by its GGUF type id.
///
/// Quantized types store values in fixed-size blocks; `blockSize` values take `bytesPerBlock`
/// bytes. Plain types (F32, F16, BF16) are blocks of one value.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 single precision.
    case f32 = 0
    /// IEEE 754 half precision.
    case f16 = 1
    /// 32 values: fp16 scale d, 4-bit q; value = d·(q−8).
    case q4_0 = 2
    /// 32 values: fp16 scale d and minimum m, 4-bit q; value = d·q + m.
    case q4_1 = 3
    /// 32 values: fp16 scale d, 5-bit q (high bits packed in a u32); value = d·(q−16).
    case q5_0 = 6
    /// 32 values: fp16 scale d and minimum m, 5-bit q; value = d·q + m.
    case q5_1 = 7
    /// 32 values: fp16 scale d, 8-bit signed q; value = d·q.
    case q8_0 = 8
    /// 256-value super-block: fp16 d and dmin, eight 6-bit scale/min pairs, 4-bit q.
    case q4_K = 12
    /// 256-value super-block: like Q4_K with a fifth bit per value.
    case q5_K = 13
    /// 256-value super-block: 6-bit q, sixteen int8 scales, fp16 d.
    case q6_K = 14
    /// bfloat16 (the top half of an IEEE single).
    case bf16 = 30

    /// Number of values in one block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Number of bytes one block occupies.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16
        case .q4_1: return 2 + 2 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 2 + 2 + 4 + 16
        case .q8_0: return 2 + 32
        case .q4_K: return 2 + 2 + 12 + 128
        case .q5_K: return 2 + 2 + 12 + 32 + 128
        case .q6_K: return 128 + 64 + 16 + 2
        }
    }

    /// Bytes needed for `count` values, or nil when `count` is negative, not a whole number of
    /// blocks, or the size overflows.
    public func byteCount(forValues count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// The conventional ggml name, e.g. `Q4_K`.
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .bf16: return "BF16"
        }
    }

    /// The conventional name.
    public var description: String { name }
}
