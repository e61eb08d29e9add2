import CKernels
import Foundation
import Tensor

/// y = x·Wᵀ for many rows of x (prefill, training) in integers: each row of x is quantized to 8
/// bits per 32 values (as ``IntegerBlockProduct`` does), each group of 16 rows of W is decoded once
/// into a panel of 8-bit codes with a scale per row and sub-block, and the panel meets every row of
/// x in AVX-512 VNNI multiply-adds (`tk_qpanel_matmul`, `_fourbit`, `_int8`).
///
/// W is a ``QuantizedMatrix`` (Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K), an ``Int8Matrix`` or a
/// ``FourBitMatrix`` whose blocks do not straddle rows. GGML and LLM.int8 weights are used as they
/// dequantize, so the error against the exact product is the activation rounding only (as for
/// ``IntegerBlockProduct``); a 4-bit weight's 16 values are also rounded to 127ths of the block's
/// absmax, which moves each weight by at most absmax / 254.
enum IntegerPanelProduct {
    /// Whether the panel products take `w`.
    static func supports(_ w: some RowDecodableMatrix) -> Bool {
        switch w {
        case let q as QuantizedMatrix: return tk_qpanel_scratch_bytes(Int32(q.type.rawValue), q.columns) > 0
        case let q as FourBitMatrix: return q.columns % 32 == 0 && q.columns % q.blockSize == 0
        case let q as Int8Matrix: return q.columns % 32 == 0
        default: return false
        }
    }

    /// Whether the input gradient of a product with `w` can run as panels after a panel forward
    /// pass: its chunks must be whole 32-row sub-blocks.
    static func supportsInputGradient(_ w: some RowDecodableMatrix) -> Bool { w.rows % 32 == 0 }

    /// Whether this CPU runs the panel products' VNNI build; without it the portable build computes
    /// the same sums slowly, so the linear op only chooses the panels when this is true.
    static var isFast: Bool { tk_uses_vnni() == 1 }

    /// y[rows, Out] = x[rows, In]·Wᵀ; a W ``supports(_:)`` does not take is multiplied by decoded
    /// tiles instead. Workers take disjoint groups of 16 rows of W, hence disjoint columns of y.
    static func multiply(x: UnsafePointer<Float>, rows m: Int, weight w: some RowDecodableMatrix, y: UnsafeMutablePointer<Float>) {
        guard m > 0 else { return }
        guard let product = product(of: w, rows: m, y: y) else {
            QuantizedProduct.forwardTiles(x: x, rows: m, weight: w, y: y)
            return
        }
        withQuantizedRows(x, rows: m, columns: w.columns, stride: w.columns, product)
    }

    /// The product of m quantized activation rows (given with the bytes between them) with W into
    /// y, for the format of W; nil when the panels do not take W.
    private static func product(of w: some RowDecodableMatrix, rows m: Int,
                                y: UnsafeMutablePointer<Float>) -> ((UnsafeRawPointer, Int) -> Void)? {
        guard supports(w) else { return nil }
        let k = w.columns, n = w.rows
        switch w {
        case let q as QuantizedMatrix:
            let type = Int32(q.type.rawValue), rowBytes = q.rowBytes, base = q.base
            return { xq, xRowBytes in
                forEachPanelRange(rows: n, scratchBytes: tk_qpanel_scratch_bytes(type, k)) { r0, r1, scratch in
                    tk_qpanel_matmul(type, base + r0 * rowBytes, rowBytes, r1 - r0, xq, xRowBytes, m, k, y + r0, n, scratch)
                }
            }
        case let q as FourBitMatrix:
            let table = q.type.codeValues, rowBlocks = k / q.blockSize
            return { xq, xRowBytes in
                q.packed.withUnsafeBufferPointer { codes in
                    q.absmax.withUnsafeBufferPointer { absmax in
                        table.withUnsafeBufferPointer { table in
                            forEachPanelRange(rows: n, scratchBytes: tk_qpanel_scratch_bytes(8, k)) { r0, r1, scratch in
                                tk_qpanel_matmul_fourbit(codes.baseAddress! + r0 * k / 2, absmax.baseAddress! + r0 * rowBlocks,
                                                         table.baseAddress!, q.blockSize, r1 - r0, k, xq, xRowBytes, m, y + r0, n, scratch)
                            }
                        }
                    }
                }
            }
        case let q as Int8Matrix:
            return { xq, xRowBytes in
                q.codes.withUnsafeBufferPointer { codes in
                    q.rowScales.withUnsafeBufferPointer { scales in
                        forEachPanelRange(rows: n, scratchBytes: tk_qpanel_scratch_bytes(8, k)) { r0, r1, scratch in
                            tk_qpanel_matmul_int8(codes.baseAddress! + r0 * k, scales.baseAddress! + r0, r1 - r0, k, xq, xRowBytes,
                                                  m, y + r0, n, scratch)
                        }
                    }
                }
            }
        default:
            return nil
        }
    }

    /// dx = dy·W as integer panels: each shared chunk of W (a multiple of 32 rows) is decoded by all
    /// workers, the chunk's part of each dy row quantized to 8 bits per 32 values, and the workers
    /// take disjoint groups of 16 columns of W (of dx), packing them rounded to 8 bits per 32 rows.
    /// A W whose row count ``supportsInputGradient(_:)`` does not take gets the decoded-tile product.
    static func inputGradient(dy: UnsafePointer<Float>, rows m: Int, weight w: some RowDecodableMatrix, dx: UnsafeMutablePointer<Float>) {
        guard supportsInputGradient(w) else { QuantizedProduct.backward(dy: dy, rows: m, weight: w, dx: dx); return }
        let (k, n) = (w.columns, w.rows)
        QuantizedProduct.forEachSharedChunk(of: w, alignment: 32) { chunk, decoded in
            let kc = chunk.count, accumulate: Int32 = chunk.lowerBound > 0 ? 1 : 0
            withQuantizedRows(dy + chunk.lowerBound, rows: m, columns: kc, stride: n) { dq, xRowBytes in
                forEachPanelRange(rows: k, scratchBytes: tk_qpanel_scratch_bytes(8, kc)) { c0, c1, scratch in
                    tk_qpanel_matmul_f32t(decoded + c0, k, kc, c1 - c0, dq, xRowBytes, m, dx + c0, k, accumulate, scratch)
                }
            }
        }
    }

    /// Calls `body` with the m rows of x (`columns` values each, `stride` apart) quantized as
    /// activation rows, and the bytes between them.
    private static func withQuantizedRows(_ x: UnsafePointer<Float>, rows m: Int, columns k: Int, stride: Int,
                                          _ body: (UnsafeRawPointer, Int) -> Void) {
        let xRowBytes = tk_qpanel_x_row_bytes(k)
        let xq = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, m * xRowBytes), alignment: 64)
        defer { xq.deallocate() }
        Parallel.forRanges(m, minimumChunk: Swift.max(1, 32_768 / Swift.max(1, k))) { range in
            for r in range { tk_qpanel_quantize(x + r * stride, xq + r * xRowBytes, k) }
        }
        body(xq, xRowBytes)
    }

    /// Calls `body(r0, r1, scratch)` on the workers for disjoint ranges of `n` panel rows (W's rows,
    /// or its columns for the input gradient), cut at multiples of 16, each with its own 64-byte-aligned
    /// scratch of `scratchBytes`.
    private static func forEachPanelRange(rows n: Int, scratchBytes: Int, _ body: (Int, Int, UnsafeMutableRawPointer) -> Void) {
        Parallel.forRanges((n + 15) / 16, piecesPerWorker: 2) { range in
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
            defer { scratch.deallocate() }
            body(16 * range.lowerBound, Swift.min(n, 16 * range.upperBound), scratch)
        }
    }
}
