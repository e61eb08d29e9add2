import CKernels
import Foundation
import Tensor

/// y = x·Wᵀ for many rows of x (prefill, training) on the blocks of a ``QuantizedMatrix``, in
/// integers: each row of x is quantized to 8 bits per 32 values (as ``IntegerBlockProduct`` does),
/// each group of 16 rows of W is decoded once into a panel of 8-bit codes with a scale per row and
/// sub-block, and the panel meets every row of x in AVX-512 VNNI multiply-adds (`tk_qpanel_matmul`).
///
/// The error against the exact product with the dequantized weight is the activation rounding
/// only, as for ``IntegerBlockProduct``, with 32-value activation blocks for every type.
enum IntegerPanelProduct {
    /// Whether the panel products take `w` (Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K).
    static func supports(_ w: QuantizedMatrix) -> Bool { tk_qpanel_scratch_bytes(Int32(w.type.rawValue), w.columns) > 0 }

    /// Whether this CPU runs the panel products' VNNI build; without it the portable build computes
    /// the same sums slowly, so the linear op only chooses the panels when this is true.
    static var isFast: Bool { tk_uses_vnni() == 1 }

    /// y[rows, Out] = x[rows, In]·Wᵀ for a W the panel products take. Workers take disjoint groups
    /// of 16 rows of W, hence disjoint columns of y.
    static func multiply(x: UnsafePointer<Float>, rows m: Int, weight w: QuantizedMatrix, y: UnsafeMutablePointer<Float>) {
        guard m > 0 else { return }
        let k = w.columns, n = w.rows, xRowBytes = tk_qpanel_x_row_bytes(k)
        let xq = UnsafeMutableRawPointer.allocate(byteCount: m * xRowBytes, alignment: 64)
        defer { xq.deallocate() }
        Parallel.forRanges(m, minimumChunk: Swift.max(1, 32_768 / Swift.max(1, k))) { range in
            for r in range { tk_qpanel_quantize(x + r * k, xq + r * xRowBytes, k) }
        }
        let type = Int32(w.type.rawValue), rowBytes = w.rowBytes, base = w.base
        let scratchBytes = tk_qpanel_scratch_bytes(type, k), panels = (n + 15) / 16
        Parallel.forRanges(panels, piecesPerWorker: 2) { range in
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
            defer { scratch.deallocate() }
            let r0 = 16 * range.lowerBound, r1 = Swift.min(n, 16 * range.upperBound)
            tk_qpanel_matmul(type, base + r0 * rowBytes, rowBytes, r1 - r0, xq, xRowBytes, m, k, y + r0, n, scratch)
        }
    }
}
