import CKernels

/// Cross-entropy of a linear output head without materialising the logits.
extension Tensor {
    /// Rows of logits ``linearCrossEntropy(_:weight:targets:normalizer:chunkRows:)`` holds at a time
    /// by default: 64 rows of a 150k vocabulary are 39 MB (128 rows cost more memory and were no
    /// faster in `tailor-bench train` on the default model, at seq 256 and 1024).
    public static let defaultCrossEntropyChunkRows = 64

    /// `crossEntropy(logits: linear(hidden, weight: weight), targets:, normalizer:)` computed
    /// `chunkRows` rows at a time, so the [N, V] logits and their gradient never exist whole.
    ///
    /// Each chunk's logits go through log-softmax and, when a gradient will be needed, straight on
    /// to their gradient, which is multiplied back into the gradient of `hidden` ([N, C]) and,
    /// for a trainable `weight`, accumulated into its gradient ([V, C]). The backward pass then
    /// only scales what the forward pass kept: no product is recomputed, and the largest buffer
    /// besides those gradients is one chunk of logits.
    ///
    /// - Parameters:
    ///   - hidden: [N, C] (any leading shape is flattened).
    ///   - weight: [V, C], the head `logits = hidden · weightᵀ`.
    ///   - targets: N ids in `0..<V`, or ``ignoreIndex``.
    ///   - normalizer: divide the summed loss by this (default: the number of rows with a target).
    ///   - chunkRows: logit rows computed at once.
    /// - Returns: a scalar equal to ``crossEntropy(logits:targets:normalizer:)`` of the full logits.
    public static func linearCrossEntropy(_ hidden: Tensor, weight: Tensor, targets: [Int32], normalizer: Float? = nil,
                                          chunkRows: Int = defaultCrossEntropyChunkRows) -> Tensor {
        let width = weight.shape.count == 2 ? weight.shape[1] : -1, vocab = weight.shape.first ?? 0
        precondition(width > 0 && hidden.shape.last == width, "linearCrossEntropy: hidden \(hidden.shape) does not fit weight \(weight.shape)")
        let rows = hidden.count / width
        precondition(targets.count == rows, "linearCrossEntropy: \(targets.count) targets for \(rows) rows")
        precondition(targets.allSatisfy { $0 == ignoreIndex || ($0 >= 0 && Int($0) < vocab) },
                     "linearCrossEntropy: a target is outside 0..<\(vocab)")
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let denominator = normalizer ?? Float(Swift.max(1, counted))
        let recording = GradientMode.isRecording && (hidden.node != nil || weight.node != nil)
        let hiddenGradient = recording && hidden.requiresGradient ? Tensor.uninitialized([rows, width]) : nil
        let weightGradient = recording && weight.requiresGradient ? Tensor.zeros([vocab, width]) : nil
        let chunk = Swift.max(1, Swift.min(chunkRows, rows))
        let logits = Tensor.uninitialized([chunk, vocab]), lse = Tensor.uninitialized([chunk])
        let scale = targets.map { $0 == ignoreIndex ? Float(0) : 1 / denominator }
        var total = 0.0
        targets.withUnsafeBufferPointer { tp in
            scale.withUnsafeBufferPointer { sp in
                let tb = tp.baseAddress!, sb = sp.baseAddress!
                let px = logits.pointer, pl = lse.pointer
                for start in stride(from: 0, to: rows, by: chunk) {
                    let n = Swift.min(chunk, rows - start)
                    let h = hidden.pointer + start * width
                    BLAS.gemm(transA: false, transB: true, m: n, n: vocab, k: width,
                              a: h, lda: width, b: weight.pointer, ldb: width, c: px, ldc: vocab)
                    Parallel.forRanges(n, minimumChunk: 4) { r in
                        tk_logsumexp_rows(px + r.lowerBound * vocab, pl + r.lowerBound, r.count, vocab)
                    }
                    for r in 0..<n where tb[start + r] != ignoreIndex {
                        total += Double(pl[r]) - Double(px[r * vocab + Int(tb[start + r])])
                    }
                    guard hiddenGradient != nil || weightGradient != nil else { continue }
                    // The chunk's logits become their gradient in place: (softmax − onehot) / denominator.
                    Parallel.forRanges(n, minimumChunk: 4) { r in
                        let o = r.lowerBound
                        tk_cross_entropy_backward(px + o * vocab, pl + o, tb + start + o, sb + start + o,
                                                  px + o * vocab, r.count, vocab)
                    }
                    if let hiddenGradient {
                        // dh[n, C] = dlogits[n, V] · W[V, C]
                        BLAS.gemm(transA: false, transB: false, m: n, n: width, k: vocab,
                                  a: px, lda: vocab, b: weight.pointer, ldb: width,
                                  c: hiddenGradient.pointer + start * width, ldc: width)
                    }
                    if let weightGradient {
                        // dW[V, C] += dlogitsᵀ[V, n] · h[n, C]
                        BLAS.gemm(transA: true, transB: false, m: vocab, n: width, k: n,
                                  a: px, lda: vocab, b: h, ldb: width, beta: 1, c: weightGradient.pointer, ldc: width)
                    }
                }
            }
        }
        let out = Tensor(Float(total / Double(denominator)))
        guard recording else { return out }
        let hiddenShape = hidden.shape
        return record(out, inputs: [hidden, weight]) { g in
            let s = g.item
            let dh = hiddenGradient.map { s == 1 ? $0 : $0 * s }?.reshaped(hiddenShape)
            return [dh, weightGradient.map { s == 1 ? $0 : $0 * s }]
        }
    }
}
