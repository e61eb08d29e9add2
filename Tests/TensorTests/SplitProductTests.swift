import CKernels
import Foundation
import Tensor
import XCTest

/// `BLAS.gemm` splits large products into row or column blocks, one sgemm or sgemv per thread:
/// every transposition, alpha/beta, row strides wider than the data, extents that are not
/// multiples of the block alignment, and more blocks than cores, against a double-precision
/// reference.
extension KernelDispatchTests {
    func testSplitProductsMatchReference() {
        // (m, n, k): rows split (m ≥ 128), columns split (m < 128 and m < n), rows split with
        // m ≥ n, a product below the split limit, and row vectors (sgemv) split over columns.
        let shapes = [(131, 45, 800), (40, 300, 400), (70, 66, 1000), (20, 30, 40), (1, 700, 500), (1, 33, 9000)]
        let previousThreads = BLAS.threadCount
        defer { BLAS.threadCount = previousThreads }
        for threads in [2, 3] {
            BLAS.threadCount = threads
            for (m, n, k) in shapes {
                for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                    for (alpha, beta) in [(Float(1), Float(0)), (-0.5, 1.5)] {
                        checkProduct(m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta,
                                     "threads \(threads) \(m)x\(n)x\(k) tA \(transA) tB \(transB) alpha \(alpha) beta \(beta)")
                    }
                }
            }
        }
    }

    /// Row strides of A, B, C wider than the data; the padding of C must stay untouched.
    private func checkProduct(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float,
                              _ label: String) {
        let (aRows, aColumns) = transA ? (k, m) : (m, k)
        let (bRows, bColumns) = transB ? (n, k) : (k, n)
        let lda = aColumns + 3, ldb = bColumns + 5, ldc = n + 2
        let a = random(aRows * lda, -1, 1, seed: UInt64(m * 131 + k))
        let b = random(bRows * ldb, -1, 1, seed: UInt64(n * 17 + k))
        var c = random(m * ldc, -1, 1, seed: UInt64(m + n))
        let expected = referenceProduct(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                        b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: &c, ldc: ldc)
        assertClose(c, expected, tol: 1e-5, floor: Double(k).squareRoot(), label)
    }

    /// alpha·op(A)·op(B) + beta·C in double precision, row-major with the given strides; C's
    /// padding past `n` in each row is returned unchanged (beta 0 never reads C).
    func referenceProduct(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                          b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Double] {
        var expected = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                }
                let old = Double(c[i * ldc + j])
                expected[i * ldc + j] = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * old)
            }
        }
        return expected
    }
}

extension KernelDispatchTests {
    /// Tailor's thread count is the CPUs the process may run on: at least one, at most the online CPUs.
    func testCoreCountFollowsAffinity() {
        let available = Int(tk_available_cpus())
        XCTAssertEqual(Parallel.coreCount, available)
        XCTAssertGreaterThanOrEqual(available, 1)
        XCTAssertLessThanOrEqual(available, ProcessInfo.processInfo.processorCount)
    }
}
