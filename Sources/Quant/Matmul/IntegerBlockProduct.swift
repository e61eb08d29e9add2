import CKernels
import Foundation
import Tensor

/// y = x·Wᵀ computed on the blocks of a ``QuantizedMatrix`` directly: each row of x is quantized
/// once per block to 8 bits (one Float32 scale per block, like GGML's Q8_0 / Q8_K), then integer
/// dot products of weight blocks with activation blocks are scaled and summed (`tk_qmatmul`).
///
/// Against the exact product with the dequantized weight, the only added error is the activation
/// rounding: at most half a step (absmax / 254 of the block) per element, so per output
/// |Δy| ≤ Σ_blocks absmax_b / 254 · Σ_(c ∈ b) |W[r][c]|, plus Float32 summation.
enum IntegerBlockProduct {
    /// How the activations are blocked for a weight type.
    struct ActivationFormat: Equatable {
        /// Values per activation block (32 or 256).
        let blockSize: Int
        /// Bytes per activation block.
        let blockBytes: Int

        /// Bytes of one quantized row of `columns` values.
        func rowBytes(columns: Int) -> Int { columns / blockSize * blockBytes }

        /// Quantizes `rows` rows of `columns` values at `x` into `out` (rows × ``rowBytes(columns:)``).
        func quantize(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutableRawPointer) {
            let stride = rowBytes(columns: columns)
            Parallel.forRanges(rows, minimumChunk: Swift.max(1, 32_768 / Swift.max(1, columns))) { range in
                for r in range {
                    if blockSize == 32 {
                        tk_quantize_q8_32(x + r * columns, out + r * stride, columns)
                    } else {
                        tk_quantize_q8_256(x + r * columns, out + r * stride, columns)
                    }
                }
            }
        }
    }

    /// The activation format the integer kernels pair with `type`, or nil when `type` has none
    /// (F32, F16, BF16, Q4_1, Q5_1 are multiplied by decoding tiles).
    static func activationFormat(for type: GGMLType) -> ActivationFormat? {
        switch type {
        case .q8_0, .q4_0, .q5_0: return ActivationFormat(blockSize: 32, blockBytes: Int(TK_Q8_32_BLOCK_BYTES))
        case .q4_K, .q5_K, .q6_K: return ActivationFormat(blockSize: 256, blockBytes: Int(TK_Q8_256_BLOCK_BYTES))
        case .f32, .f16, .bf16, .q4_1, .q5_1: return nil
        }
    }

    /// y[rows, Out] = x[rows, In]·Wᵀ for a weight type with an ``activationFormat(for:)``.
    /// Workers take disjoint ranges of W's rows, hence disjoint columns of y.
    static func multiply(x: UnsafePointer<Float>, rows m: Int, weight w: QuantizedMatrix, format: ActivationFormat,
                         y: UnsafeMutablePointer<Float>) {
        guard m > 0 else { return }
        let k = w.columns, xRowBytes = format.rowBytes(columns: k)
        let xq = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, m * xRowBytes), alignment: 64)
        defer { xq.deallocate() }
        format.quantize(x, rows: m, columns: k, into: xq)
        multiply(quantizedX: xq, rows: m, weight: w, format: format, y: y)
    }

    /// The product with activations already quantized in `format` (m rows of ``ActivationFormat/rowBytes(columns:)``).
    static func multiply(quantizedX xq: UnsafeRawPointer, rows m: Int, weight w: QuantizedMatrix, format: ActivationFormat,
                         y: UnsafeMutablePointer<Float>) {
        let k = w.columns, n = w.rows, xRowBytes = format.rowBytes(columns: k)
        let type = Int32(w.type.rawValue), rowBytes = w.rowBytes, base = w.base
        // At least ~64K multiply-adds per worker, so small products stay on one thread.
        let minimumRows = Swift.max(1, 65_536 / Swift.max(1, k * m))
        Parallel.forRanges(n, minimumChunk: minimumRows, piecesPerWorker: 4) { range in
            tk_qmatmul(type, base + range.lowerBound * rowBytes, rowBytes, range.count, xq, xRowBytes, m, k,
                       y + range.lowerBound, n)
        }
    }
}
