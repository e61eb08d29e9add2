import CKernels

/// LayerNorm and RMSNorm over the last axis (C = normalised width).
extension Tensor {
    /// RMSNorm: x / √(mean(x²) + ε) ⊙ weight. `weight` is [C].
    public static func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float) -> Tensor {
        let cols = x.shape.last ?? 1, rows = x.count / Swift.max(1, cols)
        precondition(weight.shape == [cols], "rmsNorm: weight \(weight.shape) does not fit \(x.shape)")
        let y = Tensor.uninitialized(x.shape)
        let rstd = Tensor.uninitialized([rows])
        let px = x.pointer, pw = weight.pointer, py = y.pointer, pr = rstd.pointer
        Parallel.forRanges(rows, minimumChunk: 16) { r in
            tk_rmsnorm(px + r.lowerBound * cols, pw, py + r.lowerBound * cols, pr + r.lowerBound, r.count, cols, epsilon)
        }
        let (xd, wd) = (x.detached, weight.detached)
        let (needX, needW) = (x.requiresGradient, weight.requiresGradient)
        return record(y, inputs: [x, weight]) { g in
            let dx = needX ? Tensor.uninitialized(xd.shape) : nil
            let dw = needW ? Tensor.zeros([cols]) : nil
            tk_rmsnorm_backward(xd.pointer, wd.pointer, rstd.pointer, g.pointer, dx?.pointer, dw?.pointer, rows, cols)
            return [dx, dw]
        }
    }

    /// LayerNorm: (x − mean) / √(var + ε) ⊙ weight + bias. `weight` and `bias` are [C].
    public static func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        let cols = x.shape.last ?? 1, rows = x.count / Swift.max(1, cols)
        precondition(weight.shape == [cols] && bias.shape == [cols], "layerNorm: parameters do not fit \(x.shape)")
        let y = Tensor.uninitialized(x.shape)
        let mean = Tensor.uninitialized([rows]), rstd = Tensor.uninitialized([rows])
        let px = x.pointer, pw = weight.pointer, pb = bias.pointer, py = y.pointer, pm = mean.pointer, pr = rstd.pointer
        Parallel.forRanges(rows, minimumChunk: 16) { r in
            tk_layernorm(px + r.lowerBound * cols, pw, pb, py + r.lowerBound * cols,
                         pm + r.lowerBound, pr + r.lowerBound, r.count, cols, epsilon)
        }
        let (xd, wd) = (x.detached, weight.detached)
        let (needX, needW, needB) = (x.requiresGradient, weight.requiresGradient, bias.requiresGradient)
        return record(y, inputs: [x, weight, bias]) { g in
            let dx = needX ? Tensor.uninitialized(xd.shape) : nil
            let dw = needW ? Tensor.zeros([cols]) : nil
            let db = needB ? Tensor.zeros([cols]) : nil
            tk_layernorm_backward(xd.pointer, wd.pointer, mean.pointer, rstd.pointer, g.pointer,
                                  dx?.pointer, dw?.pointer, db?.pointer, rows, cols)
            return [dx, dw, db]
        }
    }
}
