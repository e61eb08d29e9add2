import CBLAS
import CKernels
import Foundation

/// Thin typed wrappers over OpenBLAS's single-precision routines, row-major throughout.
public enum BLAS {
    /// Number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// C = alpha·op(A)·op(B) + beta·C with op(A) of shape [m, k] and op(B) of shape [k, n].
    ///
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored (before transposition).
    /// When m == 1 the product is routed to `sgemv`, which is several times faster for a row vector;
    /// with 2…``fewRowsLimit`` rows times a transposed B (a linear layer's `x·Wᵀ`), to
    /// `tk_dense_matmul`, which reads B once instead of packing it as sgemm does.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        if m == 1 {
            // c[1, n] = alpha · a_row · op(B) + beta · c  ⇔  c = alpha · op(B)ᵀ · a + beta · c
            let incA = transA ? lda : 1
            if transB {
                // op(B) = Bᵀ with B stored [n, k]: c = B · a
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb),
                            a, Int32(incA), beta, c, 1)
            } else {
                // B stored [k, n]: c = Bᵀ · a
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb),
                            a, Int32(incA), beta, c, 1)
            }
            return
        }
        if transB && !transA && m <= fewRowsLimit {
            fewRowsProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension BLAS {
    /// Most rows of A a product `A·Bᵀ` sends to ``fewRowsProduct`` rather than sgemm.
    public static let fewRowsLimit = 16

    /// C = alpha·A·Bᵀ + beta·C for few rows of A (B stored [n, k]), the rows of B split over the cores.
    static func fewRowsProduct(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Chunks of at least 64K weights, so small products stay on the calling thread; even row counts
        // keep the kernel's row pairs whole.
        let minimumChunk = max(2, (1 << 16) / max(1, k)) & ~1
        Parallel.forRanges(n, minimumChunk: minimumChunk) { range in
            let start = range.lowerBound
            tk_dense_matmul(b + start * ldb, ldb, range.count, k, a, lda, m, alpha, beta, c + start, ldc)
        }
    }
}

/// Splits work over the machine's cores.
public enum Parallel {
    /// Number of worker threads used by Tailor's own kernels.
    public static let coreCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body` on disjoint chunks of `0..<count`, in parallel when the work is large enough.
    ///
    /// The call returns only when every chunk is done, so `body` may capture pointers and locals:
    /// the contract is that chunks touch disjoint memory (each writes its own rows).
    public static func forRanges(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(coreCount, max(1, count / max(1, minimumChunk)))
        if chunks <= 1 { body(0..<count); return }
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            let shared = DisjointWork(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per, hi = min(count, lo + per)
                if lo < hi { shared.body(lo..<hi) }
            }
        }
    }
}

/// A closure handed to worker threads that each process a disjoint part of the data.
private struct DisjointWork: @unchecked Sendable {
    let body: (Range<Int>) -> Void
    init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
}
