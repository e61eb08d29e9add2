import Tensor

/// Encoders from Float32 to the ggml formats Tailor writes (GGUF export).
///
/// F16 and BF16 round to nearest even. The block formats follow ggml's reference quantizers
/// (`quantize_row_*_ref`), which the `gguf` Python package reproduces: Q8_0 takes d = max|x|/127 and
/// q = round(x/d) (halves away from zero); Q4_0 and Q5_0 take d = m/−8 and m/−16, where m is the
/// value of largest magnitude with its sign, and q = min(15 or 31, trunc(x/d + 8.5 or 16.5)).
/// Q4_1 and Q5_1 take d = (max − min)/15 or 31, store the minimum m, and q = trunc((x − m)/d + 0.5).
/// The K formats (Q4_K, Q5_K, Q6_K) search for their sub-block scales exactly as ggml's
/// `quantize_row_q*_K_ref` do — what `llama-quantize` writes without an importance matrix — and give
/// the same bytes (see `KQuantEncoders`); they cost far more time per value than the 32-value
/// formats, so tensors are encoded on all cores.
extension GGMLType {
    /// Whether ``quantize(_:into:)`` can encode this type (every type Tailor reads).
    public var isEncodable: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: return true
        }
    }

    /// Encodes `values` into `output`, which must hold ``byteCount(forValues:)`` bytes.
    /// - Throws: ``GGMLError/countNotBlockMultiple(type:count:)`` when the count is not a whole
    ///   number of blocks, ``GGMLError/bufferTooSmall(type:needed:available:)``, or
    ///   ``GGMLError/notEncodable(_:)`` for a type without an encoder.
    public func quantize(_ values: UnsafeBufferPointer<Float>, into output: UnsafeMutableRawBufferPointer) throws(GGMLError) {
        guard isEncodable else { throw .notEncodable(self) }
        guard let needed = byteCount(forValues: values.count) else {
            throw .countNotBlockMultiple(type: self, count: values.count)
        }
        guard output.count >= needed else { throw .bufferTooSmall(type: self, needed: needed, available: output.count) }
        guard let src = values.baseAddress, let dst = output.baseAddress, !values.isEmpty else { return }
        let blocks = values.count / blockSize
        switch self {
        case .f32: dst.copyMemory(from: src, byteCount: needed)
        case .f16: for i in 0..<values.count { storeHalf(src[i], dst, 2 * i) }
        case .bf16: for i in 0..<values.count { dst.storeBytes(of: bfloat16Bits(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0: for b in 0..<blocks { BlockEncoders.q8_0(src + 32 * b, dst + 34 * b) }
        case .q4_0: for b in 0..<blocks { BlockEncoders.q4_0(src + 32 * b, dst + 18 * b) }
        case .q5_0: for b in 0..<blocks { BlockEncoders.q5_0(src + 32 * b, dst + 22 * b) }
        case .q4_1: for b in 0..<blocks { BlockEncoders.q4_1(src + 32 * b, dst + 20 * b) }
        case .q5_1: for b in 0..<blocks { BlockEncoders.q5_1(src + 32 * b, dst + 24 * b) }
        case .q4_K, .q5_K, .q6_K:
            // Blocks are independent; each range writes only its own blocks' bytes.
            Parallel.forRanges(blocks, minimumChunk: 64) { KQuantEncoders.encode(self, src, dst, blocks: $0) }
        }
    }
}

/// One-block encoders for the 32-value formats.
private enum BlockEncoders {
    static func q8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        for j in 0..<32 {
            let q = roundAwayFromZero(x[j] * id)
            y.storeBytes(of: q.isFinite ? Int8(min(max(q, -127), 127)) : 0, toByteOffset: 2 + j, as: Int8.self)
        }
    }

    static func q4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let d = signedMaximum(x) / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        for j in 0..<16 {
            let lo = code(x[j] * id + 8.5, limit: 15), hi = code(x[j + 16] * id + 8.5, limit: 15)
            y.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    static func q5_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let d = signedMaximum(x) / -16
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        var highBits: UInt32 = 0
        for j in 0..<16 {
            let lo = code(x[j] * id + 16.5, limit: 31), hi = code(x[j + 16] * id + 16.5, limit: 31)
            y.storeBytes(of: (lo & 0x0F) | (hi & 0x0F) << 4, toByteOffset: 6 + j, as: UInt8.self)
            highBits |= UInt32(lo >> 4) << j | UInt32(hi >> 4) << (j + 16)
        }
        y.storeBytes(of: highBits.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    static func q4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (d, lowest) = minimumAndStep(x, levels: 15)
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        storeHalf(lowest, y, 2)
        for j in 0..<16 {
            let lo = code((x[j] - lowest) * id + 0.5, limit: 15), hi = code((x[j + 16] - lowest) * id + 0.5, limit: 15)
            y.storeBytes(of: lo | hi << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    static func q5_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (d, lowest) = minimumAndStep(x, levels: 31)
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        storeHalf(lowest, y, 2)
        var highBits: UInt32 = 0
        for j in 0..<16 {
            let lo = code((x[j] - lowest) * id + 0.5, limit: 31), hi = code((x[j + 16] - lowest) * id + 0.5, limit: 31)
            y.storeBytes(of: (lo & 0x0F) | (hi & 0x0F) << 4, toByteOffset: 8 + j, as: UInt8.self)
            highBits |= UInt32(lo >> 4) << j | UInt32(hi >> 4) << (j + 16)
        }
        y.storeBytes(of: highBits.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// The step (max − min)/levels and the minimum of a 32-value block, as ggml's Q4_1/Q5_1 take them.
    static func minimumAndStep(_ x: UnsafePointer<Float>, levels: Float) -> (step: Float, minimum: Float) {
        var lowest = Float.greatestFiniteMagnitude, highest = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < lowest { lowest = x[j] }
            if x[j] > highest { highest = x[j] }
        }
        return ((highest - lowest) / levels, lowest)
    }

    /// The value of largest magnitude, with its sign (the first one on ties).
    static func signedMaximum(_ x: UnsafePointer<Float>) -> Float {
        var amax: Float = 0, m: Float = 0
        for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]); m = x[j] }
        return m
    }

    /// C's `roundf`: halves round away from zero.
    static func roundAwayFromZero(_ x: Float) -> Float { x.rounded(.toNearestOrAwayFromZero) }

    /// ggml's `MIN(limit, (int8_t)v)` for the offset codes (v ≥ 0.5 for finite inputs): truncation
    /// toward zero, capped; non-finite inputs (NaN weights) give 0 instead of trapping.
    static func code(_ v: Float, limit: Float) -> UInt8 {
        guard v.isFinite else { return 0 }
        return UInt8(min(max(v, 0), limit).rounded(.towardZero))
    }
}

/// Stores `x` as IEEE half precision (nearest even) at `offset`, little-endian.
@inline(__always)
func storeHalf(_ x: Float, _ base: UnsafeMutableRawPointer, _ offset: Int) {
    base.storeBytes(of: Float16(x).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
}

/// Rounds to the nearest bfloat16 (ties to even); NaN becomes a quiet NaN with the same sign.
@inline(__always)
func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
    return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
}
