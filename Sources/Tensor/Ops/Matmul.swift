/// Matrix products through `cblas_sgemm` (transpositions are BLAS flags, never copies).
///
/// C = op(A)·op(B). Backward: dop(A) = dC·op(B)ᵀ and dop(B) = op(A)ᵀ·dC, transposed back when the
/// operand was used transposed — each again a single BLAS call with flags.
extension Tensor {
    /// op(a) · op(b) over the last two axes.
    ///
    /// - Parameters:
    ///   - a: [..., M, K] (stored [..., K, M] with `transposeA`).
    ///   - b: [..., K, N] with the same leading axes as `a`, or a rank-2 matrix shared by every
    ///     batch entry (stored [N, K] with `transposeB`).
    /// - Returns: [..., M, N].
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let out = product(a, b, transposeA, transposeB)
        let (ad, bd) = (a.detached, b.detached)
        return record(out, inputs: [a, b]) { g in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGradient {
                let full = transposeA ? product(bd, g, transposeB, true) : product(g, bd, false, !transposeB)
                // A rank-2 `a` shared across b's batch: sum the per-batch gradients.
                ga = full.summed(toShape: ad.shape)
            }
            if b.requiresGradient {
                if bd.rank == 2 && ad.rank > 2 && !transposeA {
                    // Shared B: fold the batch into rows so one GEMM sums over it.
                    let a2 = ad.reshaped([-1, ad.shape[ad.rank - 1]]), g2 = g.reshaped([-1, g.shape[g.rank - 1]])
                    gb = transposeB ? product(g2, a2, true, false) : product(a2, g2, true, false)
                } else {
                    let full = transposeB ? product(g, ad, true, transposeA) : product(ad, g, !transposeA, false)
                    gb = full.summed(toShape: bd.shape)
                }
            }
            return [ga, gb]
        }
    }

    /// The product without autodiff. Either operand may be rank 2 and shared across the other's batch.
    static func product(_ a: Tensor, _ b: Tensor, _ transposeA: Bool, _ transposeB: Bool) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == kb, "matmul inner dimensions differ: \(a.shape) · \(b.shape)")
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        precondition(aBatch == bBatch || aBatch.isEmpty || bBatch.isEmpty,
                     "matmul batch axes differ: \(a.shape) · \(b.shape)")
        let batchShape = aBatch.isEmpty ? bBatch : aBatch
        let batch = batchShape.reduce(1, *)
        let out = Tensor.uninitialized(batchShape + [m, n])
        if bBatch.isEmpty && !transposeA {
            // All of A's rows in one call.
            BLAS.gemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k,
                      a: a.pointer, lda: ac, b: b.pointer, ldb: bc, c: out.pointer, ldc: n)
            return out
        }
        let aStride = aBatch.isEmpty ? 0 : ar * ac, bStride = bBatch.isEmpty ? 0 : br * bc
        for i in 0..<batch {
            BLAS.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                      a: a.pointer + i * aStride, lda: ac, b: b.pointer + i * bStride, ldb: bc,
                      c: out.pointer + i * m * n, ldc: n)
        }
        return out
    }
}
