/// Broadcasting rules (NumPy's): shapes align on the right; an axis of size 1 stretches.
enum Broadcast {
    /// The broadcast shape of `a` and `b`, or nil when they are incompatible.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else { return nil }
            out[i] = max(da, db)
        }
        return out
    }

    /// Element strides of `shape` read as `target` (0 on stretched axes).
    static func strides(of shape: [Int], in target: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: target.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let t = i + target.count - shape.count
            strides[t] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// Calls `body(outOffset, offsetA, offsetB, innerCount, innerStrideA, innerStrideB)` for each
    /// run along the last axis of `target`.
    @inline(__always)
    static func forEachRow(_ target: [Int], _ sa: [Int], _ sb: [Int],
                           _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let rank = target.count
        guard rank > 0 else { body(0, 0, 0, 1, 0, 0); return }
        let inner = target[rank - 1]
        let rows = inner == 0 ? 0 : target.reduce(1, *) / inner
        var index = [Int](repeating: 0, count: rank - 1)
        var oa = 0, ob = 0
        for row in 0..<rows {
            body(row * inner, oa, ob, inner, sa[rank - 1], sb[rank - 1])
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                oa += sa[axis]; ob += sb[axis]
                if index[axis] < target[axis] { break }
                oa -= sa[axis] * target[axis]; ob -= sb[axis] * target[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

extension Tensor {
    /// Sums this tensor (shaped like a broadcast result) down to `shape`: the backward of broadcasting.
    func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor.zeros(target)
        let st = Broadcast.strides(of: target, in: shape)
        let ones = [Int](repeating: 0, count: shape.count)
        let src = pointer, dst = out.pointer
        Broadcast.forEachRow(shape, st, ones) { o, ot, _, n, s, _ in
            if s == 0 {
                var acc: Float = 0
                for i in 0..<n { acc += src[o + i] }
                dst[ot] += acc
            } else {
                for i in 0..<n { dst[ot + i] += src[o + i] }
            }
        }
        return out
    }
}
