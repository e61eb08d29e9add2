import CKernels

/// Numerically stable softmax and log-softmax over the last axis.
extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        let cols = shape.last ?? 1, rows = count / Swift.max(1, cols)
        let y = Tensor.uninitialized(shape)
        let src = pointer, dst = y.pointer
        Parallel.forRanges(rows, minimumChunk: Swift.max(1, 4096 / Swift.max(1, cols))) { r in
            tk_softmax_rows(src + r.lowerBound * cols, dst + r.lowerBound * cols, r.count, cols)
        }
        return Tensor.record(y, inputs: [self]) { g in
            // dx = y ⊙ (dy − Σ dy⊙y)
            let dx = Tensor.uninitialized(y.shape)
            for r in 0..<rows {
                let yr = y.pointer + r * cols, gr = g.pointer + r * cols, dr = dx.pointer + r * cols
                let dot = tk_dot(yr, gr, cols)
                for i in 0..<cols { dr[i] = yr[i] * (gr[i] - dot) }
            }
            return [dx]
        }
    }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Tensor {
        let cols = shape.last ?? 1, rows = count / Swift.max(1, cols)
        var lse = [Float](repeating: 0, count: rows)
        tk_logsumexp_rows(pointer, &lse, rows, cols)
        let y = Tensor.uninitialized(shape)
        for r in 0..<rows {
            let s = pointer + r * cols, d = y.pointer + r * cols, l = lse[r]
            for i in 0..<cols { d[i] = s[i] - l }
        }
        return Tensor.record(y, inputs: [self]) { g in
            // dx = dy − softmax · Σ dy
            let dx = Tensor.uninitialized(y.shape)
            for r in 0..<rows {
                let yr = y.pointer + r * cols, gr = g.pointer + r * cols, dr = dx.pointer + r * cols
                let total = tk_sum(gr, cols)
                tk_exp(yr, dr, cols)
                for i in 0..<cols { dr[i] = gr[i] - dr[i] * total }
            }
            return [dx]
        }
    }
}
