/// Element-wise arithmetic with broadcasting, and with scalars.

protocol BinaryKernel {
    static func apply(_ a: Float, _ b: Float) -> Float
}
enum AddKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum SubKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum MulKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum DivKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

extension Tensor {
    /// Applies `K` element-wise over the broadcast of `a` and `b` (no autodiff).
    static func broadcastApply<K: BinaryKernel>(_ a: Tensor, _ b: Tensor, _: K.Type) -> Tensor {
        guard let shape = Broadcast.shape(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor.uninitialized(shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        if a.shape == b.shape {
            for i in 0..<out.count { po[i] = K.apply(pa[i], pb[i]) }
            return out
        }
        let sa = Broadcast.strides(of: a.shape, in: shape)
        let sb = Broadcast.strides(of: b.shape, in: shape)
        Broadcast.forEachRow(shape, sa, sb) { o, oa, ob, n, ia, ib in
            switch (ia, ib) {
            case (1, 1): for i in 0..<n { po[o + i] = K.apply(pa[oa + i], pb[ob + i]) }
            case (1, 0): let v = pb[ob]; for i in 0..<n { po[o + i] = K.apply(pa[oa + i], v) }
            case (0, 1): let v = pa[oa]; for i in 0..<n { po[o + i] = K.apply(v, pb[ob + i]) }
            default: let v = K.apply(pa[oa], pb[ob]); for i in 0..<n { po[o + i] = v }
            }
        }
        return out
    }

    /// Element-wise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, AddKernel.self)
        let (sa, sb) = (a.shape, b.shape)
        return record(out, inputs: [a, b]) { g in
            [a.requiresGradient ? g.summed(toShape: sa) : nil, b.requiresGradient ? g.summed(toShape: sb) : nil]
        }
    }

    /// Element-wise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, SubKernel.self)
        let (sa, sb) = (a.shape, b.shape)
        return record(out, inputs: [a, b]) { g in
            [a.requiresGradient ? g.summed(toShape: sa) : nil,
             b.requiresGradient ? g.scaled(by: -1).summed(toShape: sb) : nil]
        }
    }

    /// Element-wise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, MulKernel.self)
        let (ad, bd) = (a.detached, b.detached)
        return record(out, inputs: [a, b]) { g in
            [a.requiresGradient ? broadcastApply(g, bd, MulKernel.self).summed(toShape: ad.shape) : nil,
             b.requiresGradient ? broadcastApply(g, ad, MulKernel.self).summed(toShape: bd.shape) : nil]
        }
    }

    /// Element-wise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, DivKernel.self)
        let (ad, bd) = (a.detached, b.detached)
        return record(out, inputs: [a, b]) { g in
            let ga = broadcastApply(g, bd, DivKernel.self)
            var gb: Tensor? = nil
            if b.requiresGradient {
                // d(a/b)/db = -a/b² = -(a/b)/b
                let q = broadcastApply(broadcastApply(ad, bd, DivKernel.self), bd, DivKernel.self)
                gb = broadcastApply(g, q, MulKernel.self).scaled(by: -1).summed(toShape: bd.shape)
            }
            return [a.requiresGradient ? ga.summed(toShape: ad.shape) : nil, gb]
        }
    }

    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }

    /// `x * s` without autodiff.
    func scaled(by s: Float) -> Tensor {
        let out = Tensor.uninitialized(shape)
        let src = pointer, dst = out.pointer
        for i in 0..<count { dst[i] = src[i] * s }
        return out
    }

    /// `x + s` element-wise.
    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = Tensor.uninitialized(a.shape)
        let src = a.pointer, dst = out.pointer
        for i in 0..<a.count { dst[i] = src[i] + s }
        return record(out, inputs: [a]) { g in [g] }
    }

    /// `s + x` element-wise.
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    /// `x - s` element-wise.
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    /// `s - x` element-wise.
    public static func - (s: Float, a: Tensor) -> Tensor { (a * -1) + s }

    /// `x * s` element-wise.
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = a.scaled(by: s)
        return record(out, inputs: [a]) { g in [g.scaled(by: s)] }
    }

    /// `s * x` element-wise.
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    /// `x / s` element-wise.
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
}
