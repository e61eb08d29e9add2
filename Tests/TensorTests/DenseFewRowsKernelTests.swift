import CKernels
import Foundation
import Tensor
import XCTest

/// `tk_dense_matmul` (few activation rows times a row-major weight) in both builds against a
/// double-precision reference: odd weight-row counts (the last pair half full), column counts
/// with and without a vector tail, 1–16 activation rows, row strides wider than the data, and
/// alpha/beta; then `BLAS.gemm` (which routes 2–16 rows of `A·Bᵀ` to it) against sgemm itself.
extension KernelDispatchTests {
    func testDenseFewRowsProduct() {
        forEachBuild { build in
            for (rows, columns) in [(1, 1), (3, 7), (8, 33), (17, 64), (6, 1000)] {
                for m in [1, 2, 3, 4, 5, 9, 16] {
                    for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (2, -0.25)] {
                        let ldw = columns + 3, ldx = columns + 1, ldy = rows + 2
                        let w = random(rows * ldw, -1, 1, seed: UInt64(rows * 31 + columns))
                        let x = random(m * ldx, -2, 2, seed: UInt64(m * 7 + columns))
                        var y = random(m * ldy, -1, 1, seed: UInt64(m + rows))
                        // y[m, rows] = alpha · x · wᵀ + beta · y
                        let expected = referenceProduct(transA: false, transB: true, m: m, n: rows, k: columns,
                                                        alpha: alpha, a: x, lda: ldx, b: w, ldb: ldw, beta: beta,
                                                        c: y, ldc: ldy)
                        tk_dense_matmul(w, ldw, rows, columns, x, ldx, m, alpha, beta, &y, ldy)
                        // Errors relative to a dot product's typical size, √columns (terms of order 1).
                        assertClose(y, expected, tol: 1e-5, floor: Double(columns).squareRoot(),
                                    "\(build) dense rows \(rows) columns \(columns) m \(m) alpha \(alpha) beta \(beta)")
                    }
                }
            }
        }
    }

    /// beta 0 never reads the output (NaN there stays out of the result).
    func testBetaZeroIgnoresOutput() {
        forEachBuild { build in
            let w = random(5 * 9, -1, 1, seed: 3), x = random(3 * 9, -1, 1, seed: 4)
            var y = [Float](repeating: .nan, count: 3 * 5)
            tk_dense_matmul(w, 9, 5, 9, x, 9, 3, 1, 0, &y, 5)
            XCTAssertTrue(y.allSatisfy(\.isFinite), build)
        }
    }

    /// The routed products equal sgemm's (threaded split included: 4864 × 896 weights).
    func testGemmRoutesFewRowsToKernel() {
        for (n, k) in [(10, 12), (4864, 896)] {
            for m in [2, 7, 16] {
                let a = random(m * k, -1, 1, seed: UInt64(m)), b = random(n * k, -1, 1, seed: UInt64(n))
                var routed = [Float](repeating: 0, count: m * n)
                BLAS.gemm(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &routed, ldc: n)
                let expected = referenceProduct(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k,
                                                b: b, ldb: k, beta: 0, c: routed, ldc: n)
                assertClose(routed, expected, tol: 1e-5, floor: Double(k).squareRoot(), "gemm m \(m) n \(n) k \(k)")
            }
        }
    }
}
