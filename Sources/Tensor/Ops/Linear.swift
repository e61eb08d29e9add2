/// The affine map of a dense layer, in PyTorch's weight layout.
extension Tensor {
    /// y = x·Wᵀ + b.
    ///
    /// - Parameters:
    ///   - x: [..., In].
    ///   - weight: [Out, In] (PyTorch `nn.Linear` layout).
    ///   - bias: [Out], optional.
    /// - Returns: [..., Out]. A single row goes to `sgemv`. When the weight is frozen its gradient
    ///   is never computed; the input gradient still flows.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        precondition(weight.rank == 2 && x.shape.last == inFeatures,
                     "linear: input \(x.shape) does not fit weight \(weight.shape)")
        let rows = x.count / Swift.max(1, inFeatures)
        let out = Tensor.uninitialized(Array(x.shape.dropLast()) + [outFeatures])
        if let bias {
            precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) does not fit weight \(weight.shape)")
            for r in 0..<rows { (out.pointer + r * outFeatures).update(from: bias.pointer, count: outFeatures) }
        }
        BLAS.gemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x.pointer, lda: inFeatures, b: weight.pointer, ldb: inFeatures,
                  beta: bias == nil ? 0 : 1, c: out.pointer, ldc: outFeatures)
        // The pullback keeps only what it needs: W for dx, x for dW (a frozen W's input is not held).
        let xd = weight.requiresGradient ? x.detached : nil, wd = x.requiresGradient ? weight.detached : nil
        let xShape = x.shape
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        let biasNeedsGrad = bias?.requiresGradient ?? false
        return record(out, inputs: inputs) { g in
            var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
            if let wd {
                // dx[rows, In] = dy[rows, Out] · W[Out, In]
                let r = Tensor.uninitialized(xShape)
                BLAS.gemm(transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures,
                          a: g.pointer, lda: outFeatures, b: wd.pointer, ldb: inFeatures, c: r.pointer, ldc: inFeatures)
                gx = r
            }
            if let xd {
                // dW[Out, In] = dyᵀ · x
                let r = Tensor.uninitialized([outFeatures, inFeatures])
                BLAS.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows,
                          a: g.pointer, lda: outFeatures, b: xd.pointer, ldb: inFeatures, c: r.pointer, ldc: inFeatures)
                gw = r
            }
            if biasNeedsGrad { gb = g.reshaped([rows, outFeatures]).sum(axis: 0) }
            return [gx, gw, gb]
        }
    }
}
