/// Reshaping, permuting, slicing and joining.
extension Tensor {
    /// The same elements under a new shape (one extent may be -1 and is inferred). Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var shape = newShape
        if let i = shape.firstIndex(of: -1) {
            let known = shape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            shape[i] = known == 0 ? 0 : count / known
        }
        precondition(shape.reduce(1, *) == count, "cannot reshape \(self.shape) to \(newShape)")
        let old = self.shape
        let out = Tensor(shape: shape, storage: storage, offset: offset)
        return Tensor.record(out, inputs: [self]) { g in [g.reshaped(old)] }
    }

    /// Axes reordered: output axis i is input axis `axes[i]`. Copies.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank), "bad permutation \(axes) for \(shape)")
        let out = Tensor.uninitialized(axes.map { shape[$0] })
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let permStrides = axes.map { inStrides[$0] }
        let zero = [Int](repeating: 0, count: rank)
        let src = pointer, dst = out.pointer
        Broadcast.forEachRow(out.shape, permStrides, zero) { o, oi, _, n, s, _ in
            for i in 0..<n { dst[o + i] = src[oi + i * s] }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Tensor.record(out, inputs: [self]) { [inverse] g in [g.permuted(inverse)] }
    }

    /// The two given axes swapped (by default the last two). Copies.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(normalizedAxis(a), normalizedAxis(b))
        return permuted(axes)
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) out of bounds for \(shape)")
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        var newShape = shape
        newShape[ax] = range.count
        let fullShape = shape
        let out: Tensor
        if outer == 1 {
            out = Tensor(shape: newShape, storage: storage, offset: offset + range.lowerBound * inner)
        } else {
            out = Tensor.uninitialized(newShape)
            let n = range.count * inner
            for o in 0..<outer {
                (out.pointer + o * n).update(from: pointer + (o * shape[ax] + range.lowerBound) * inner, count: n)
            }
        }
        return Tensor.record(out, inputs: [self]) { g in
            let r = Tensor.zeros(fullShape)
            let n = range.count * inner
            for o in 0..<outer {
                (r.pointer + (o * fullShape[ax] + range.lowerBound) * inner).update(from: g.pointer + o * n, count: n)
            }
            return [r]
        }
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat needs at least one tensor")
        let first = parts[0]
        let ax = first.normalizedAxis(axis)
        for p in parts {
            precondition(p.rank == first.rank && (0..<first.rank).allSatisfy { $0 == ax || p.shape[$0] == first.shape[$0] },
                         "concat: \(p.shape) does not fit \(first.shape) along axis \(ax)")
        }
        let outer = first.shape[..<ax].reduce(1, *), inner = first.shape[(ax + 1)...].reduce(1, *)
        let sizes = parts.map { $0.shape[ax] }
        let total = sizes.reduce(0, +)
        var shape = first.shape
        shape[ax] = total
        let out = Tensor.uninitialized(shape)
        var start = 0
        for (p, s) in zip(parts, sizes) {
            for o in 0..<outer {
                (out.pointer + (o * total + start) * inner).update(from: p.pointer + o * s * inner, count: s * inner)
            }
            start += s
        }
        return record(out, inputs: parts) { g in
            var lo = 0
            return zip(parts, sizes).map { p, s in
                defer { lo += s }
                return p.requiresGradient ? g.slice(axis: ax, lo..<(lo + s)).detached : nil
            }
        }
    }

    /// Splits along `axis` into pieces of the given sizes.
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        precondition(sizes.reduce(0, +) == size(axis), "split sizes \(sizes) do not add up to \(shape)")
        var lo = 0
        return sizes.map { s in
            defer { lo += s }
            return slice(axis: axis, lo..<(lo + s))
        }
    }
}
