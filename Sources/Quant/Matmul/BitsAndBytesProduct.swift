import CKernels
import Tensor

/// y = x·Wᵀ for bitsandbytes weights (NF4/FP4, LLM.int8) without decoding tiles: the C kernels
/// decode each group of weights in registers — a 16-value table lookup times the block's absmax,
/// or code · SCB / 127 — and multiply it with the Float32 activations right away. The weights used
/// are the dequantized ones, so results equal the decoded-tile product up to summation order.
enum BitsAndBytesProduct {
    /// Whether the 4-bit kernel takes `w`: its blocks must not straddle rows.
    static func supports(_ w: FourBitMatrix) -> Bool { w.columns % w.blockSize == 0 }

    /// At least ~64K multiply-adds per worker, so small products stay on one thread.
    private static func minimumRows(columns: Int, rows m: Int) -> Int { Swift.max(1, 65_536 / Swift.max(1, columns * m)) }

    /// y[rows, Out] = x[rows, In]·Wᵀ for a 4-bit weight ``supports(_:)`` takes; workers take
    /// disjoint ranges of W's rows.
    static func multiply(x: UnsafePointer<Float>, rows m: Int, weight w: FourBitMatrix, y: UnsafeMutablePointer<Float>) {
        guard m > 0 else { return }
        let k = w.columns, n = w.rows, blockSize = w.blockSize, rowBlocks = k / blockSize
        let table = w.type.codeValues
        w.packed.withUnsafeBufferPointer { codes in
            w.absmax.withUnsafeBufferPointer { absmax in
                table.withUnsafeBufferPointer { table in
                    Parallel.forRanges(n, minimumChunk: minimumRows(columns: k, rows: m)) { range in
                        tk_fourbit_matmul(codes.baseAddress! + range.lowerBound * k / 2, absmax.baseAddress! + range.lowerBound * rowBlocks,
                                          table.baseAddress!, blockSize, range.count, k, x, m, y + range.lowerBound, n)
                    }
                }
            }
        }
    }

    /// y[rows, Out] = x[rows, In]·Wᵀ for an LLM.int8 weight; workers take disjoint ranges of W's rows.
    static func multiply(x: UnsafePointer<Float>, rows m: Int, weight w: Int8Matrix, y: UnsafeMutablePointer<Float>) {
        guard m > 0 else { return }
        let k = w.columns, n = w.rows
        w.codes.withUnsafeBufferPointer { codes in
            w.rowScales.withUnsafeBufferPointer { scales in
                Parallel.forRanges(n, minimumChunk: minimumRows(columns: k, rows: m)) { range in
                    tk_int8_matmul(codes.baseAddress! + range.lowerBound * k, scales.baseAddress! + range.lowerBound,
                                   range.count, k, x, m, y + range.lowerBound, n)
                }
            }
        }
    }
}
