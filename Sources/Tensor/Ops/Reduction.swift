import CKernels

/// Sums, means and maxima.
extension Tensor {
    /// Sum of all elements (rank 0).
    public func sum() -> Tensor {
        let out = Tensor(withUnsafeBufferPointer { Float(kahanSum($0)) })
        let shape = self.shape
        return Tensor.record(out, inputs: [self]) { g in [Tensor.full(shape, g.item)] }
    }

    /// Mean of all elements (rank 0).
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(1, count))) }

    /// Sum over `axis`.
    public func sum(axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        let ax = normalizedAxis(axis)
        let (outer, n, inner) = (shape[..<ax].reduce(1, *), shape[ax], shape[(ax + 1)...].reduce(1, *))
        var kept = shape
        kept[ax] = 1
        let out = Tensor.zeros(kept)
        let src = pointer, dst = out.pointer
        for o in 0..<outer {
            for j in 0..<n {
                let row = src + (o * n + j) * inner, acc = dst + o * inner
                for i in 0..<inner { acc[i] += row[i] }
            }
        }
        let full = shape
        let result = keep ? out : out.reshaped(shape.enumerated().filter { $0.offset != ax }.map(\.element))
        return Tensor.record(result.detached, inputs: [self]) { [kept] g in
            [Tensor.broadcastApply(Tensor.zeros(full), g.reshaped(kept), AddKernel.self)]
        }
    }

    /// Mean over `axis`.
    public func mean(axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        sum(axis: axis, keepingDimension: keep) * (1 / Float(size(axis)))
    }

    /// Maximum over `axis`; the gradient goes to the first maximal element.
    public func max(axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        let ax = normalizedAxis(axis)
        let (outer, n, inner) = (shape[..<ax].reduce(1, *), shape[ax], shape[(ax + 1)...].reduce(1, *))
        var kept = shape
        kept[ax] = 1
        let out = Tensor.uninitialized(kept)
        var argmax = [Int](repeating: 0, count: outer * inner)
        let src = pointer, dst = out.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = -Float.infinity, arg = 0
                for j in 0..<n where src[(o * n + j) * inner + i] > best || j == 0 {
                    best = src[(o * n + j) * inner + i]; arg = j
                }
                dst[o * inner + i] = best
                argmax[o * inner + i] = arg
            }
        }
        let full = shape
        let result = keep ? out : out.reshaped(shape.enumerated().filter { $0.offset != ax }.map(\.element))
        return Tensor.record(result.detached, inputs: [self]) { [argmax] g in
            let r = Tensor.zeros(full)
            for o in 0..<outer {
                for i in 0..<inner { r.pointer[(o * n + argmax[o * inner + i]) * inner + i] = g.pointer[o * inner + i] }
            }
            return [r]
        }
    }
}

/// Compensated sum in Double, for accurate scalar reductions.
@inline(__always)
func kahanSum(_ x: UnsafeBufferPointer<Float>) -> Double {
    var s = 0.0, c = 0.0
    for v in x {
        let y = Double(v) - c
        let t = s + y
        c = (t - s) - y
        s = t
    }
    return s
}
