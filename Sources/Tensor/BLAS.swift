import CBLAS
import CKernels
import Foundation
import Synchronization

/// Thin typed wrappers over OpenBLAS's single-precision routines, row-major throughout.
///
/// OpenBLAS itself runs on one thread: Tailor splits large products over the cores with the same
/// workers its own kernels use, so no BLAS thread spins waiting for work while those kernels run.
public enum BLAS {
    /// Number of threads one product is split over (at most the machine's cores by default).
    public static var threadCount: Int {
        get { productThreads.load(ordering: .relaxed) }
        set { productThreads.store(max(1, newValue), ordering: .relaxed) }
    }

    private static let productThreads = Atomic<Int>(Parallel.coreCount)

    /// Puts OpenBLAS on one thread, once, before its first call.
    private static let openBLASConfigured: Void = openblas_set_num_threads(1)

    /// C = alpha·op(A)·op(B) + beta·C with op(A) of shape [m, k] and op(B) of shape [k, n].
    ///
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored (before transposition).
    /// When m == 1 the product is routed to `sgemv`, which is several times faster for a row vector;
    /// with 2…``fewRowsLimit`` rows times a transposed B (a linear layer's `x·Wᵀ`), to
    /// `tk_dense_matmul`, which reads B once instead of packing it as sgemm does. Products of more
    /// than ``splitWorkLimit`` multiply-adds are split into row or column blocks, one per thread.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        _ = openBLASConfigured
        if m == 1 {
            rowVectorProduct(transA: transA, transB: transB, n: n, k: k, alpha: alpha, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c)
            return
        }
        if transB && !transA && m <= fewRowsLimit {
            fewRowsProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        splitProduct(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

extension BLAS {
    /// Multiply-adds above which a product is split over threads (below, the split costs more
    /// than it saves).
    public static let splitWorkLimit = 1 << 22

    /// Block sizes of a split are multiples of this, so no thread gets a ragged sgemm micro-tile.
    static let splitAlignment = 16

    /// The number of blocks `extent` rows or columns are cut into for `work` multiply-adds.
    static func splitParts(extent: Int, work: Int) -> Int {
        guard work > splitWorkLimit else { return 1 }
        return max(1, min(threadCount, extent / splitAlignment))
    }

    /// Runs `body` on `parts` aligned, non-empty blocks of `0..<extent`, one per thread.
    static func forEachBlock(of extent: Int, parts: Int, _ body: (Range<Int>) -> Void) {
        let per = ((extent + parts - 1) / parts + splitAlignment - 1) / splitAlignment * splitAlignment
        Parallel.forRanges(parts) { chunk in
            for part in chunk where part * per < extent {
                body(part * per..<min(extent, (part + 1) * per))
            }
        }
    }

    /// sgemm, its rows of C split over threads when there are many, else its columns.
    static func splitProduct(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let splitRows = m >= 8 * splitAlignment || m >= n
        let parts = splitParts(extent: splitRows ? m : n, work: m * n * k)
        let opA = transA ? CblasTrans : CblasNoTrans, opB = transB ? CblasTrans : CblasNoTrans
        forEachBlock(of: splitRows ? m : n, parts: parts) { block in
            let start = block.lowerBound
            if splitRows {
                let aBlock = transA ? a + start : a + start * lda
                cblas_sgemm(CblasRowMajor, opA, opB, Int32(block.count), Int32(n), Int32(k), alpha,
                            aBlock, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
            } else {
                let bBlock = transB ? b + start * ldb : b + start
                cblas_sgemm(CblasRowMajor, opA, opB, Int32(m), Int32(block.count), Int32(k), alpha,
                            a, Int32(lda), bBlock, Int32(ldb), beta, c + start, Int32(ldc))
            }
        }
    }

    /// c[1, n] = alpha · a · op(B) + beta · c through sgemv, the columns of c split over threads.
    static func rowVectorProduct(transA: Bool, transB: Bool, n: Int, k: Int, alpha: Float,
                                 a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                 beta: Float, c: UnsafeMutablePointer<Float>) {
        let incA = Int32(transA ? lda : 1)
        let parts = splitParts(extent: n, work: 16 * n * k)  // memory-bound: split from 256K weights
        forEachBlock(of: n, parts: parts) { block in
            let start = block.lowerBound
            if transB {
                // op(B) = Bᵀ with B stored [n, k]: c = B · a, a block of B's rows per thread.
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(block.count), Int32(k), alpha,
                            b + start * ldb, Int32(ldb), a, incA, beta, c + start, 1)
            } else {
                // B stored [k, n]: c = Bᵀ · a, a block of B's columns per thread.
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(block.count), alpha,
                            b + start, Int32(ldb), a, incA, beta, c + start, 1)
            }
        }
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
    /// Number of worker threads used by Tailor's own kernels: the CPUs the process may run on, so
    /// a process bound to one core (an MPI rank under `--bind-to core`) stays on one thread.
    public static let coreCount = max(1, Int(tk_available_cpus()))

    /// Runs `body` on disjoint chunks of `0..<count`, in parallel when the work is large enough.
    ///
    /// The call returns only when every chunk is done, so `body` may capture pointers and locals:
    /// the contract is that chunks touch disjoint memory (each writes its own rows).
    ///
    /// `piecesPerWorker` above 1 cuts the work finer than one chunk per core: the chunks are claimed
    /// as the threads come free, so a worker that wakes late takes fewer of them instead of holding
    /// up the caller (worth it for short, memory-bound products such as decoding steps).
    public static func forRanges(_ count: Int, minimumChunk: Int = 1, piecesPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = coreCount <= 1 ? 1 : min(coreCount * max(1, piecesPerWorker), max(1, count / max(1, minimumChunk)))
        if chunks <= 1 { body(0..<count); return }
        if WorkerPool.shared.run(count: count, chunks: chunks, body) { return }
        // The pool is taken (a nested region, or another thread's): let GCD share the cores.
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

