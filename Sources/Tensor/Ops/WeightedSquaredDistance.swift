/// Quadratic penalties that pull parameters towards an anchor (EWC, L2-SP).
extension Tensor {
    /// Σᵢ wᵢ · (xᵢ − aᵢ)², a scalar; without `weights`, every wᵢ is 1 (the squared Euclidean distance).
    ///
    /// - Parameters:
    ///   - x: the differentiable input (a parameter's value).
    ///   - anchor: the point it is pulled to, shaped like `x` (never differentiated).
    ///   - weights: per-element importance shaped like `x` (e.g. a diagonal Fisher; never differentiated).
    /// - Returns: a scalar whose backward is 2·w·(x − a) times the upstream gradient. Fused, so a
    ///   penalty over a whole model allocates nothing per element besides the gradient itself.
    public static func weightedSquaredDistance(_ x: Tensor, anchor: Tensor, weights: Tensor? = nil) -> Tensor {
        precondition(anchor.shape == x.shape, "weightedSquaredDistance: anchor \(anchor.shape) vs \(x.shape)")
        precondition(weights.map { $0.shape == x.shape } ?? true, "weightedSquaredDistance: weights \(weights!.shape) vs \(x.shape)")
        let n = x.count
        let chunks = Swift.max(1, Swift.min(64, n / 4096))
        var partial = [Double](repeating: 0, count: chunks)
        let (px, pa, pw) = (x.pointer, anchor.pointer, weights?.pointer)
        partial.withUnsafeMutableBufferPointer { sums in
            let out = sums.baseAddress!
            Parallel.forRanges(chunks) { range in
                for c in range {
                    let lo = c * n / chunks, hi = (c + 1) * n / chunks
                    var s: Float = 0, total = 0.0
                    // Float partial sums of 1024 elements, accumulated in Double.
                    for i in lo..<hi {
                        let d = px[i] - pa[i]
                        if let pw { s += pw[i] * d * d } else { s += d * d }
                        if (i - lo) & 1023 == 1023 { total += Double(s); s = 0 }
                    }
                    out[c] = total + Double(s)
                }
            }
        }
        let out = Tensor(Float(partial.reduce(0, +)))
        let (xd, ad, wd) = (x.detached, anchor.detached, weights?.detached)
        return record(out, inputs: [x]) { g in
            let scale = 2 * g.item
            let dx = Tensor.uninitialized(xd.shape)
            let (pd, qx, qa, qw) = (dx.pointer, xd.pointer, ad.pointer, wd?.pointer)
            Parallel.forRanges(n, minimumChunk: 65536) { range in
                if let qw {
                    for i in range { pd[i] = scale * qw[i] * (qx[i] - qa[i]) }
                } else {
                    for i in range { pd[i] = scale * (qx[i] - qa[i]) }
                }
            }
            return [dx]
        }
    }
}
