import CKernels
import Foundation

/// Element-wise functions; each backward is expressed through the saved input or output.
extension Tensor {
    /// Applies a C kernel `y = f(x)` over all elements, split across cores.
    static func mapKernel(_ x: Tensor, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor.uninitialized(x.shape)
        let src = x.pointer, dst = out.pointer
        Parallel.forRanges(x.count, minimumChunk: 1 << 15) { r in
            kernel(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
        return out
    }

    /// Applies `f` element by element in Swift (for the rarely hot functions).
    static func mapScalar(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor.uninitialized(x.shape)
        let src = x.pointer, dst = out.pointer
        for i in 0..<x.count { dst[i] = f(src[i]) }
        return out
    }

    /// eˣ.
    public func exp() -> Tensor {
        let y = Tensor.mapKernel(self) { tk_exp($0, $1, $2) }
        return Tensor.record(y, inputs: [self]) { g in [Tensor.broadcastApply(g, y, MulKernel.self)] }
    }

    /// Natural logarithm.
    public func log() -> Tensor {
        let y = Tensor.mapScalar(self) { Foundation.log($0) }
        let x = detached
        return Tensor.record(y, inputs: [self]) { g in [Tensor.broadcastApply(g, x, DivKernel.self)] }
    }

    /// Square root.
    public func sqrt() -> Tensor {
        let y = Tensor.mapScalar(self) { $0.squareRoot() }
        return Tensor.record(y, inputs: [self]) { g in
            [Tensor.broadcastApply(g, y.scaled(by: 2), DivKernel.self)]
        }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor {
        let y = Tensor.mapKernel(self) { tk_tanh($0, $1, $2) }
        return Tensor.record(y, inputs: [self]) { g in
            [Tensor.mapPair(g, y) { gi, yi in gi * (1 - yi * yi) }]
        }
    }

    /// Element-wise square.
    public func squared() -> Tensor { self * self }

    /// Applies `f(a, b)` to two same-shaped tensors (no autodiff).
    static func mapPair(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let out = Tensor.uninitialized(a.shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        for i in 0..<a.count { po[i] = f(pa[i], pb[i]) }
        return out
    }
}
