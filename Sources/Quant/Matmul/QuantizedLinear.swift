import Foundation
import Tensor

/// How the quantized linear op computes its forward product.
public enum QuantizedProductKernel: Sendable, Equatable {
    /// Block kernels (``blocks``) for products of up to ``QuantizedProductKernel/blockKernelMaximumRows``
    /// input rows — decoding, small batches. Above that, integer panels (``panels``) on CPUs with
    /// AVX-512 VNNI for the formats they take, else decoded tiles (``decodedTiles``), where BLAS
    /// on Float32 tiles is faster on AVX2. ``withKernel(_:_:)`` makes it mean one kernel within a
    /// scope; so does the environment variable `TAILOR_QUANTIZED_PRODUCT` (`blocks`, `panels` or
    /// `tiles`, read once) for the whole process, for benchmarks.
    case automatic
    /// The kernels that work on the stored blocks, for every row count: integer block products
    /// (activations quantized to 8 bits per block) for Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K; weights
    /// decoded in registers and multiplied with Float32 activations for LLM.int8 and for NF4/FP4
    /// whose blocks do not straddle rows; decoded tiles for every other format.
    case blocks
    /// Integer panel products (``IntegerPanelProduct``: activations quantized to 8 bits per 32
    /// values, 16 weight rows decoded at a time to 8-bit codes) for Q8_0, Q4_0, Q5_0, Q4_K, Q5_K,
    /// Q6_K, LLM.int8 and NF4/FP4 (their values rounded to 127ths of the block absmax), for every
    /// row count; decoded tiles for every other format. Fast only with AVX-512 VNNI.
    case panels
    /// Decode tiles of W to Float32 and multiply them with BLAS: equal to the dense product with
    /// the dequantized weight up to summation order.
    case decodedTiles

    /// Input rows up to which ``automatic`` uses the block kernels. Measured with
    /// `tailor-bench qmatmul` on 2 AVX2 cores (default-model shapes): at 1–8 rows the integer
    /// kernels were 1.5–4× faster than decoded tiles, at 16–32 rows about even (Q5_0) to 1.8×
    /// faster (Q4_K), and at 128–512 rows decoded tiles with sgemm were 1.3–2.8× faster.
    public static let blockKernelMaximumRows = 16

    /// What ``automatic`` resolves to for `TAILOR_QUANTIZED_PRODUCT` (nil: choose by row count).
    static let environmentChoice: QuantizedProductKernel? = {
        switch ProcessInfo.processInfo.environment["TAILOR_QUANTIZED_PRODUCT"] {
        case "blocks": return .blocks
        case "panels": return .panels
        case "tiles": return .decodedTiles
        default: return nil
        }
    }()

    /// What ``automatic`` means inside ``withKernel(_:_:)`` (nil outside).
    @TaskLocal static var scopedChoice: QuantizedProductKernel?

    /// Runs `body` with every ``automatic`` quantized product in it (on this task or thread) using
    /// `kernel` instead — `.decodedTiles` for products equal to the dense ones with the dequantized
    /// weights, as bitsandbytes and transformers compute them; `.automatic` restores the default.
    public static func withKernel<R>(_ kernel: QuantizedProductKernel, _ body: () throws -> R) rethrows -> R {
        try $scopedChoice.withValue(kernel == .automatic ? nil : kernel) { try body() }
    }

    /// The kernel a product of `rows` input rows uses: ``blocks``, ``panels`` or ``decodedTiles``
    /// (the caller falls back to decoded tiles for a weight the chosen kernel does not take).
    func resolved(rows: Int) -> QuantizedProductKernel {
        switch self {
        case .blocks, .panels, .decodedTiles: return self
        case .automatic:
            if let choice = Self.scopedChoice ?? Self.environmentChoice { return choice }
            if rows <= Self.blockKernelMaximumRows { return .blocks }
            return IntegerPanelProduct.isFast ? .panels : .decodedTiles
        }
    }
}

/// y = x·Wᵀ + b with W a ``RowDecodableMatrix`` (GGML blocks, NF4/FP4, INT8), differentiable with
/// respect to x.
///
/// W is never expanded whole. With ``QuantizedProductKernel/blocks`` (and with
/// ``QuantizedProductKernel/automatic`` for few input rows) the forward product works on the stored
/// blocks: for GGML types with integer kernels each row of x is quantized to 8 bits per block and
/// block dot products are taken in integers, which adds at most half an activation quantization
/// step per element (absmax / 254 of the block) to the error of the weight's own quantization
/// (``IntegerBlockProduct``); NF4/FP4 and LLM.int8 weights are decoded in registers and multiplied
/// with the Float32 activations directly (``BitsAndBytesProduct``), exact up to summation order.
/// With ``QuantizedProductKernel/panels`` (and ``QuantizedProductKernel/automatic`` for many rows on
/// a CPU with AVX-512 VNNI) weights are multiplied as integer panels (``IntegerPanelProduct``), with
/// the same activation-rounding error (and, for NF4/FP4, weights rounded to 127ths of their block's
/// absmax). Otherwise W is decoded to Float32 and multiplied with BLAS, so results equal the dense product up
/// to summation order: for few input rows each worker decodes a small tile (sized to stay in L2)
/// and multiplies it (`sgemm`, or `sgemv` for a single row); for many (prefill, training) all
/// workers decode a chunk of up to 16 MB of W together and one sgemm split over the cores multiplies it.
///
/// The backward pass computes dx = dy·W from decoded tiles or chunks — the exact gradient of the
/// product with the dequantized weight; blocks run along In while dx sums over Out, so block dot
/// products do not apply. After a forward pass on integer panels (and when W has a multiple of 32
/// rows) it multiplies each decoded chunk as integer panels too: dy quantized to 8 bits per 32
/// values along Out, and the chunk's columns rounded to 8 bits per 32 rows as they are packed
/// (``IntegerPanelProduct/inputGradient(dy:rows:weight:dx:)``). W itself is frozen and gets no gradient.
extension Tensor {
    /// Quantized linear: x [..., In] · W[Out, In]ᵀ + bias [Out].
    public static func linear<W: RowDecodableMatrix>(_ x: Tensor, quantizedWeight w: W, bias: Tensor? = nil,
                                                     kernel: QuantizedProductKernel = .automatic) -> Tensor {
        precondition(x.shape.last == w.columns, "quantized linear: input \(x.shape) does not fit weight \(w.rows)x\(w.columns)")
        let rows = x.count / Swift.max(1, w.columns)
        // The backward pass follows the forward's choice: integer panels after panels, else tiles.
        let resolved = kernel.resolved(rows: rows)
        let backwardPanels = resolved == .panels && IntegerPanelProduct.supports(w) && IntegerPanelProduct.supportsInputGradient(w)
        let out = Tensor.build(Array(x.shape.dropLast()) + [w.rows]) { y in
            x.withUnsafeBufferPointer { xp in
                QuantizedProduct.forward(x: xp.baseAddress!, rows: rows, weight: w, bias: bias, kernel: resolved, y: y.baseAddress!)
            }
        }
        let inputs = bias.map { [x, $0] } ?? [x]
        // The pullback holds W and shapes only: W is frozen, so dx needs no copy of x.
        let xShape = x.shape, needBias = bias?.requiresGradient ?? false, needInput = x.requiresGradient
        return record(out, inputs: inputs) { g in
            let dx = needInput ? Tensor.build(xShape) { d in
                g.withUnsafeBufferPointer { gp in
                    if backwardPanels {
                        IntegerPanelProduct.inputGradient(dy: gp.baseAddress!, rows: rows, weight: w, dx: d.baseAddress!)
                    } else {
                        QuantizedProduct.backward(dy: gp.baseAddress!, rows: rows, weight: w, dx: d.baseAddress!)
                    }
                }
            } : nil
            let db = needBias ? g.reshaped([rows, w.rows]).sum(axis: 0).detached : nil
            return bias == nil ? [dx] : [dx, db]
        }
    }
}

/// The tiled products behind the quantized linear op.
enum QuantizedProduct {
    /// Rows of W decoded per worker tile: about 0.75 MB of Float32, which stays in L2 next to
    /// sgemm's packed panels.
    static func tileRows(_ w: some RowDecodableMatrix) -> Int { Swift.min(w.rows, Swift.max(64, 196_608 / w.columns)) }

    /// y[rows, Out] = x[rows, In]·Wᵀ (+ bias), with the block kernels or the integer panels when
    /// `kernel` chooses them and W has them, else decoded tiles.
    static func forward(x: UnsafePointer<Float>, rows: Int, weight w: some RowDecodableMatrix, bias: Tensor?,
                        kernel: QuantizedProductKernel = .automatic, y: UnsafeMutablePointer<Float>) {
        let resolved = kernel.resolved(rows: rows), useBlockKernels = resolved == .blocks
        if resolved == .panels, IntegerPanelProduct.supports(w) {
            IntegerPanelProduct.multiply(x: x, rows: rows, weight: w, y: y)
        } else if useBlockKernels, let q = w as? QuantizedMatrix, let format = IntegerBlockProduct.activationFormat(for: q.type) {
            IntegerBlockProduct.multiply(x: x, rows: rows, weight: q, format: format, y: y)
        } else if useBlockKernels, let q = w as? Int8Matrix {
            BitsAndBytesProduct.multiply(x: x, rows: rows, weight: q, y: y)
        } else if useBlockKernels, let q = w as? FourBitMatrix, BitsAndBytesProduct.supports(q) {
            BitsAndBytesProduct.multiply(x: x, rows: rows, weight: q, y: y)
        } else {
            forwardTiles(x: x, rows: rows, weight: w, y: y)
        }
        if let bias {
            let n = w.rows
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows { let row = y + r * n; for j in 0..<n { row[j] += b[j] } }
            }
        }
    }

    /// Input rows from which a product decodes large chunks of W shared by all workers
    /// (``forwardSharedChunks(x:rows:weight:y:)``) instead of a small tile per worker.
    static let sharedChunkMinimumRows = 64

    /// Values of W decoded per shared chunk: 16 MB of Float32, most matrices of a small model in one
    /// piece, so the input-gradient product is not cut into short sums.
    static let sharedChunkValues = 1 << 22

    /// Rows of W in one shared chunk: W cut into as few chunks of at most ``sharedChunkValues`` as
    /// possible, of equal size (so no chunk is a thin remainder whose product runs slowly), rounded up
    /// to a multiple of `alignment`.
    static func sharedChunkRows(_ w: some RowDecodableMatrix, alignment: Int = 1) -> Int {
        let most = Swift.min(w.rows, Swift.max(16, sharedChunkValues / Swift.max(1, w.columns)))
        let chunks = (w.rows + most - 1) / most
        let rows = (w.rows + chunks - 1) / chunks
        return Swift.min(w.rows, (rows + alignment - 1) / alignment * alignment)
    }

    /// y[rows, Out] = x[rows, In]·Wᵀ from decoded tiles: per-worker tiles for few rows, shared
    /// chunks for many.
    static func forwardTiles(x: UnsafePointer<Float>, rows: Int, weight w: some RowDecodableMatrix, y: UnsafeMutablePointer<Float>) {
        if rows >= sharedChunkMinimumRows {
            forwardSharedChunks(x: x, rows: rows, weight: w, y: y)
            return
        }
        let tile = tileRows(w), tiles = (w.rows + tile - 1) / tile
        let (k, n) = (w.columns, w.rows)
        BLAS.withSingleThread {
            Parallel.forRanges(tiles) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tile * k)
                defer { scratch.deallocate() }
                for t in range {
                    let r0 = t * tile, r1 = Swift.min(n, r0 + tile)
                    w.decodeRows(r0..<r1, into: scratch)
                    BLAS.gemm(transA: false, transB: true, m: rows, n: r1 - r0, k: k, a: x, lda: k,
                              b: scratch, ldb: k, c: y + r0, ldc: n)
                }
            }
        }
    }

    /// y = x·Wᵀ for many input rows: chunks of W are decoded by all workers into one buffer, and each
    /// chunk's product is one sgemm split over the cores by rows of x — as the dense product is — so
    /// OpenBLAS packs x once per chunk rather than once per small tile.
    static func forwardSharedChunks(x: UnsafePointer<Float>, rows: Int, weight w: some RowDecodableMatrix, y: UnsafeMutablePointer<Float>) {
        let (k, n) = (w.columns, w.rows)
        forEachSharedChunk(of: w) { chunk, decoded in
            BLAS.gemm(transA: false, transB: true, m: rows, n: chunk.count, k: k, a: x, lda: k,
                      b: decoded, ldb: k, c: y + chunk.lowerBound, ldc: n)
        }
    }

    /// Calls `body` with each chunk of ``sharedChunkRows(_:alignment:)`` rows of W, decoded by all
    /// workers into one reused buffer.
    static func forEachSharedChunk<W: RowDecodableMatrix>(of w: W, alignment: Int = 1, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let (k, n) = (w.columns, w.rows), rowsPerChunk = sharedChunkRows(w, alignment: alignment)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * k)
        defer { buffer.deallocate() }
        for r0 in stride(from: 0, to: n, by: rowsPerChunk) {
            let chunk = r0..<Swift.min(n, r0 + rowsPerChunk)
            decodeShared(w, rows: chunk, into: buffer)
            body(chunk, buffer)
        }
    }

    /// Decodes rows `range` of W into `buffer` ([range.count, columns]) on all workers.
    static func decodeShared(_ w: some RowDecodableMatrix, rows range: Range<Int>, into buffer: UnsafeMutablePointer<Float>) {
        let k = w.columns
        Parallel.forRanges(range.count, minimumChunk: 16) { part in
            w.decodeRows(range.lowerBound + part.lowerBound..<range.lowerBound + part.upperBound, into: buffer + part.lowerBound * k)
        }
    }

    /// dx[rows, In] = dy[rows, Out]·W: shared chunks for many rows; otherwise workers take disjoint
    /// row blocks of dy/dx and each walks all tiles of W (a tile is decoded once per worker).
    static func backward(dy: UnsafePointer<Float>, rows: Int, weight w: some RowDecodableMatrix, dx: UnsafeMutablePointer<Float>) {
        if rows >= sharedChunkMinimumRows {
            backwardSharedChunks(dy: dy, rows: rows, weight: w, dx: dx)
            return
        }
        let tile = tileRows(w), (k, n) = (w.columns, w.rows)
        BLAS.withSingleThread {
            Parallel.forRanges(rows, minimumChunk: 8) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tile * k)
                defer { scratch.deallocate() }
                var r0 = 0
                while r0 < n {
                    let r1 = Swift.min(n, r0 + tile)
                    w.decodeRows(r0..<r1, into: scratch)
                    BLAS.gemm(transA: false, transB: false, m: range.count, n: k, k: r1 - r0,
                              a: dy + range.lowerBound * n + r0, lda: n, b: scratch, ldb: k,
                              beta: r0 == 0 ? 0 : 1, c: dx + range.lowerBound * k, ldc: k)
                    r0 = r1
                }
            }
        }
    }

    /// dx = dy·W for many rows: each shared chunk of W is decoded once by all workers, then
    /// multiplied in as one sgemm split over the cores by rows of dy.
    static func backwardSharedChunks(dy: UnsafePointer<Float>, rows: Int, weight w: some RowDecodableMatrix, dx: UnsafeMutablePointer<Float>) {
        let (k, n) = (w.columns, w.rows)
        forEachSharedChunk(of: w) { chunk, decoded in
            BLAS.gemm(transA: false, transB: false, m: rows, n: k, k: chunk.count, a: dy + chunk.lowerBound, lda: n,
                      b: decoded, ldb: k, beta: chunk.lowerBound == 0 ? 0 : 1, c: dx, ldc: k)
        }
    }
}
