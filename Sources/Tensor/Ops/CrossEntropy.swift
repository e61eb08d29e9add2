import CKernels

/// Token-level cross-entropy fused with log-softmax.
extension Tensor {
    /// The label that marks a position without a target (PyTorch's default `ignore_index`).
    public static let ignoreIndex: Int32 = -100

    /// Σ over rows with a target of −log softmax(logits)[target], divided by `normalizer`
    /// (default: the number of rows with a target, i.e. the mean).
    ///
    /// - Parameters:
    ///   - logits: [N, V] (any leading shape is flattened).
    ///   - targets: N ids in `0..<V`, or ``ignoreIndex``.
    ///   - normalizer: divide the summed loss by this (pass the token count of a whole accumulated
    ///     batch so k micro-batches equal one large batch).
    /// - Returns: a scalar. The softmax is never stored: the backward recomputes it from the logits
    ///   and the saved per-row log-sum-exp.
    public static func crossEntropy(logits: Tensor, targets: [Int32], normalizer: Float? = nil) -> Tensor {
        let vocab = logits.shape.last ?? 1, rows = logits.count / Swift.max(1, vocab)
        precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows")
        let lse = Tensor.uninitialized([rows])
        let px = logits.pointer, pl = lse.pointer
        Parallel.forRanges(rows, minimumChunk: 4) { r in
            tk_logsumexp_rows(px + r.lowerBound * vocab, pl + r.lowerBound, r.count, vocab)
        }
        var total = 0.0, counted = 0
        for (r, t) in targets.enumerated() where t != ignoreIndex {
            precondition(t >= 0 && Int(t) < vocab, "crossEntropy: target \(t) outside 0..<\(vocab)")
            total += Double(pl[r]) - Double(px[r * vocab + Int(t)])
            counted += 1
        }
        let denominator = normalizer ?? Float(Swift.max(1, counted))
        let out = Tensor(Float(total / Double(denominator)))
        let ld = logits.detached
        return record(out, inputs: [logits]) { g in
            let scale = targets.map { $0 == ignoreIndex ? Float(0) : g.item / denominator }
            let dx = Tensor.uninitialized(ld.shape)
            let pd = dx.pointer
            targets.withUnsafeBufferPointer { tp in
                scale.withUnsafeBufferPointer { sp in
                    let tb = tp.baseAddress!, sb = sp.baseAddress!
                    Parallel.forRanges(rows, minimumChunk: 4) { r in
                        tk_cross_entropy_backward(ld.pointer + r.lowerBound * vocab, lse.pointer + r.lowerBound,
                                                  tb + r.lowerBound, sb + r.lowerBound,
                                                  pd + r.lowerBound * vocab, r.count, vocab)
                    }
                }
            }
            return [dx]
        }
    }
}
