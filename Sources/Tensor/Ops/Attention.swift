import CBLAS
import CKernels

/// Which keys each query may attend to.
public struct AttentionMask: Sendable, Equatable {
    /// Whether query t may only see keys at positions ≤ `queryOffset + t`.
    public var causal: Bool
    /// Absolute position of the first query among the keys (keys − queries for a plain causal pass,
    /// or the cache length before this step when decoding).
    public var queryOffset: Int
    /// Per batch row, the first valid key (keys before it are left padding); nil when none is padded.
    public var keyStart: [Int]?
    /// Leading keys every query sees whatever `keyStart` says: learned virtual positions (prompt or
    /// prefix tuning) that sit before a row's left padding.
    public var prefixLength: Int
    /// Per query ([B, T] row-major), the first key of its segment: with several examples packed into
    /// one row, a query sees only keys from `segmentStart` on, which with `causal` makes the mask
    /// block-diagonal. Nil: one segment per row.
    public var segmentStart: [Int32]?

    /// A mask.
    public init(causal: Bool = true, queryOffset: Int = 0, keyStart: [Int]? = nil, prefixLength: Int = 0,
                segmentStart: [Int32]? = nil) {
        self.causal = causal
        self.queryOffset = queryOffset
        self.keyStart = keyStart
        self.prefixLength = prefixLength
        self.segmentStart = segmentStart
    }

    /// Segment starts for packed rows: `segments` ([B, T] row-major) numbers the example each token
    /// belongs to; a new segment begins wherever the number changes along a row.
    public static func segmentStarts<ID: BinaryInteger>(segments: [ID], batch: Int) -> [Int32] {
        let t = batch > 0 ? segments.count / batch : 0
        var starts = [Int32](repeating: 0, count: segments.count)
        for b in 0..<batch {
            var start = 0
            for i in 0..<t {
                if i > 0, segments[b * t + i] != segments[b * t + i - 1] { start = i }
                starts[b * t + i] = Int32(start)
            }
        }
        return starts
    }

    /// The first real key query `t` (of `queries` per row) of batch row `b` may see: after left
    /// padding and, in a packed row, at its segment's start.
    @inline(__always)
    func firstKey(batch b: Int, query t: Int, queries: Int) -> Int {
        var lo = keyStart?[b] ?? 0
        if let segmentStart { lo = Swift.max(lo, Int(segmentStart[b * queries + t])) }
        return lo
    }

    /// The half-open range of keys query `t` (of `queries` per row) of batch row `b` sees among
    /// `keys`; keys inside ``paddingGap(batch:query:queries:keys:)`` are excluded from it as well.
    @inline(__always)
    func keyRange(batch b: Int, query t: Int, queries: Int, keys: Int) -> Range<Int> {
        let lo = prefixLength > 0 ? 0 : firstKey(batch: b, query: t, queries: queries)
        let hi = causal ? Swift.min(keys, queryOffset + t + 1) : keys
        return lo < hi ? lo..<hi : lo..<lo
    }

    /// Padding keys between the always-visible prefix and a row's first real key, inside `keyRange`.
    @inline(__always)
    func paddingGap(batch b: Int, query t: Int, queries: Int, keys: Int) -> Range<Int> {
        guard prefixLength > 0 else { return 0..<0 }
        let start = firstKey(batch: b, query: t, queries: queries)
        guard start > prefixLength else { return 0..<0 }
        let hi = causal ? Swift.min(keys, queryOffset + t + 1) : keys
        return prefixLength..<Swift.max(prefixLength, Swift.min(start, hi))
    }
}

/// Scaled dot-product attention with grouped-query heads, on raw row-major buffers.
///
/// Layouts (B batch, T queries, S keys, H query heads, G key/value heads, D head width):
/// q and out are [B, T, H, D]; k and v are [B, S, G, D] with row stride `kvRowStride` floats
/// between consecutive key positions (G·D for a dense tensor, larger for a preallocated cache).
/// Query head h reads key/value head h / (H/G). The forward pass keeps only each row's
/// log-sum-exp; the backward pass recomputes the probabilities from it.
public enum AttentionKernel {
    /// Problem sizes.
    public struct Shape: Sendable {
        public var batch, queries, keys, heads, kvHeads, headDim: Int
        /// Creates a shape; `heads` must be a multiple of `kvHeads`.
        public init(batch: Int, queries: Int, keys: Int, heads: Int, kvHeads: Int, headDim: Int) {
            (self.batch, self.queries, self.keys, self.heads, self.kvHeads, self.headDim) =
                (batch, queries, keys, heads, kvHeads, headDim)
        }
    }

    /// Computes `out` and (optionally) `lse` [B, H, T].
    public static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               kvRowStride: Int, kvBatchStride: Int, out: UnsafeMutablePointer<Float>,
                               lse: UnsafeMutablePointer<Float>?, shape: Shape, scale: Float, mask: AttentionMask) {
        let (T, S, H, G, D) = (shape.queries, shape.keys, shape.heads, shape.kvHeads, shape.headDim)
        let rep = H / G, qRow = H * D
        BLAS.withSingleThread {
            Parallel.forRanges(shape.batch * G) { tasks in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: T * S)
                defer { scores.deallocate() }
                for task in tasks {
                    let b = task / G, g = task % G
                    let kb = k + b * kvBatchStride + g * D, vb = v + b * kvBatchStride + g * D
                    for h in (g * rep)..<((g + 1) * rep) {
                        let qh = q + b * T * qRow + h * D, oh = out + b * T * qRow + h * D
                        BLAS.gemm(transA: false, transB: true, m: T, n: S, k: D, alpha: scale,
                                  a: qh, lda: qRow, b: kb, ldb: kvRowStride, c: scores, ldc: S)
                        for t in 0..<T {
                            let row = scores + t * S
                            let r = mask.keyRange(batch: b, query: t, queries: T, keys: S)
                            if r.isEmpty {
                                row.update(repeating: 0, count: S)
                                lse?[(b * H + h) * T + t] = -.infinity
                                continue
                            }
                            let gap = mask.paddingGap(batch: b, query: t, queries: T, keys: S)
                            if !gap.isEmpty { (row + gap.lowerBound).update(repeating: -.infinity, count: gap.count) }
                            let l = tk_softmax_lse(row + r.lowerBound, row + r.lowerBound, r.count)
                            if !gap.isEmpty { (row + gap.lowerBound).update(repeating: 0, count: gap.count) }
                            lse?[(b * H + h) * T + t] = l
                            if r.lowerBound > 0 { row.update(repeating: 0, count: r.lowerBound) }
                            if r.upperBound < S { (row + r.upperBound).update(repeating: 0, count: S - r.upperBound) }
                        }
                        BLAS.gemm(transA: false, transB: false, m: T, n: D, k: S,
                                  a: scores, lda: S, b: vb, ldb: kvRowStride, c: oh, ldc: qRow)
                    }
                }
            }
        }
    }

    /// Gradients of attention. `dk` and `dv` ([B, S, G, D], dense) are accumulated into and must
    /// start zeroed; `dq` is overwritten. Any of them may be nil when not needed.
    public static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                out: UnsafePointer<Float>, lse: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                                dv: UnsafeMutablePointer<Float>?, shape: Shape, scale: Float, mask: AttentionMask) {
        let (T, S, H, G, D) = (shape.queries, shape.keys, shape.heads, shape.kvHeads, shape.headDim)
        let rep = H / G, qRow = H * D, kvRow = G * D
        BLAS.withSingleThread {
            Parallel.forRanges(shape.batch * G) { tasks in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: T * S)
                let dp = UnsafeMutablePointer<Float>.allocate(capacity: T * S)
                defer { p.deallocate(); dp.deallocate() }
                for task in tasks {
                    let b = task / G, g = task % G
                    let kb = k + b * S * kvRow + g * D, vb = v + b * S * kvRow + g * D
                    for h in (g * rep)..<((g + 1) * rep) {
                        let base = b * T * qRow + h * D
                        let qh = q + base, oh = out + base, doh = dOut + base
                        // P = exp(scale·Q·Kᵀ − lse), masked
                        BLAS.gemm(transA: false, transB: true, m: T, n: S, k: D, alpha: scale,
                                  a: qh, lda: qRow, b: kb, ldb: kvRow, c: p, ldc: S)
                        // dP = dO·Vᵀ
                        BLAS.gemm(transA: false, transB: true, m: T, n: S, k: D,
                                  a: doh, lda: qRow, b: vb, ldb: kvRow, c: dp, ldc: S)
                        for t in 0..<T {
                            let pr = p + t * S, dr = dp + t * S
                            let r = mask.keyRange(batch: b, query: t, queries: T, keys: S)
                            if r.isEmpty { pr.update(repeating: 0, count: S); dr.update(repeating: 0, count: S); continue }
                            let l = lse[(b * H + h) * T + t]
                            tk_exp_shifted(pr + r.lowerBound, pr + r.lowerBound, r.count, l)
                            let gap = mask.paddingGap(batch: b, query: t, queries: T, keys: S)
                            if !gap.isEmpty { (pr + gap.lowerBound).update(repeating: 0, count: gap.count) }
                            if r.lowerBound > 0 { pr.update(repeating: 0, count: r.lowerBound) }
                            if r.upperBound < S { (pr + r.upperBound).update(repeating: 0, count: S - r.upperBound) }
                            // dS = P ⊙ (dP − rowsum(dO ⊙ O))
                            let delta = tk_dot(doh + t * qRow, oh + t * qRow, D)
                            for j in 0..<S { dr[j] = pr[j] * (dr[j] - delta) }
                        }
                        if let dq {
                            BLAS.gemm(transA: false, transB: false, m: T, n: D, k: S, alpha: scale,
                                      a: dp, lda: S, b: kb, ldb: kvRow, c: dq + base, ldc: qRow)
                        }
                        if let dk {
                            BLAS.gemm(transA: true, transB: false, m: S, n: D, k: T, alpha: scale,
                                      a: dp, lda: S, b: qh, ldb: qRow, beta: 1, c: dk + b * S * kvRow + g * D, ldc: kvRow)
                        }
                        if let dv {
                            BLAS.gemm(transA: true, transB: false, m: S, n: D, k: T,
                                      a: p, lda: S, b: doh, ldb: qRow, beta: 1, c: dv + b * S * kvRow + g * D, ldc: kvRow)
                        }
                    }
                }
            }
        }
    }
}

extension BLAS {
    /// Runs `body` with every product on the calling thread, for kernels that parallelise across
    /// independent small products themselves. The thread count is process-wide state.
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        let previous = threadCount
        if previous == 1 { return try body() }
        threadCount = 1
        defer { threadCount = previous }
        return try body()
    }
}

extension Tensor {
    /// Scaled dot-product attention with grouped-query heads.
    ///
    /// - Parameters:
    ///   - q: [B, T, H, D]; k, v: [B, S, G, D] with H a multiple of G.
    ///   - scale: usually 1/√D.
    ///   - mask: causal masking and left padding; by default causal with queries aligned to the
    ///     last T keys.
    /// - Returns: [B, T, H, D].
    public static func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float, mask: AttentionMask? = nil) -> Tensor {
        precondition(q.rank == 4 && k.rank == 4 && v.shape == k.shape, "attention: shapes \(q.shape), \(k.shape), \(v.shape)")
        let (B, T, H, D) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (S, G) = (k.shape[1], k.shape[2])
        precondition(k.shape[0] == B && k.shape[3] == D && G > 0 && H % G == 0, "attention: \(q.shape) vs \(k.shape)")
        let mask = mask ?? AttentionMask(causal: true, queryOffset: S - T)
        precondition(mask.segmentStart.map { $0.count == B * T } ?? true, "attention: segmentStart for \(B)×\(T) queries")
        let shape = AttentionKernel.Shape(batch: B, queries: T, keys: S, heads: H, kvHeads: G, headDim: D)
        let out = Tensor.uninitialized(q.shape)
        let needsGrad = GradientMode.isEnabled && (q.requiresGradient || k.requiresGradient || v.requiresGradient)
        let lse = needsGrad ? Tensor.uninitialized([B, H, T]) : nil
        AttentionKernel.forward(q: q.pointer, k: k.pointer, v: v.pointer, kvRowStride: G * D, kvBatchStride: S * G * D,
                                out: out.pointer, lse: lse?.pointer, shape: shape, scale: scale, mask: mask)
        guard let lse else { return out }
        let (qd, kd, vd, od) = (q.detached, k.detached, v.detached, out.detached)
        let (nq, nk, nv) = (q.requiresGradient, k.requiresGradient, v.requiresGradient)
        return record(out, inputs: [q, k, v]) { g in
            let dq = nq ? Tensor.uninitialized(qd.shape) : nil
            let dk = nk ? Tensor.zeros(kd.shape) : nil
            let dv = nv ? Tensor.zeros(vd.shape) : nil
            AttentionKernel.backward(q: qd.pointer, k: kd.pointer, v: vd.pointer, out: od.pointer, lse: lse.pointer,
                                     dOut: g.pointer, dq: dq?.pointer, dk: dk?.pointer, dv: dv?.pointer,
                                     shape: shape, scale: scale, mask: mask)
            return [dq, dk, dv]
        }
    }
}
