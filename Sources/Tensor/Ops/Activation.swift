import CKernels

/// The activation functions of transformer MLPs.
extension Tensor {
    /// Applies a backward kernel `dx = dy · f'(x)` split across cores.
    static func mapBackward(_ x: Tensor, _ g: Tensor,
                            _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor.uninitialized(x.shape)
        let px = x.pointer, pg = g.pointer, po = out.pointer
        Parallel.forRanges(x.count, minimumChunk: 1 << 15) { r in
            kernel(px + r.lowerBound, pg + r.lowerBound, po + r.lowerBound, r.count)
        }
        return out
    }

    /// SiLU (swish): x·σ(x).
    public func silu() -> Tensor {
        let x = detached
        return Tensor.record(Tensor.mapKernel(self) { tk_silu($0, $1, $2) }, inputs: [self]) { g in
            [Tensor.mapBackward(x, g) { tk_silu_backward($0, $1, $2, $3) }]
        }
    }

    /// GELU, exact (erf) form — PyTorch's `gelu(approximate="none")`.
    public func gelu() -> Tensor {
        let x = detached
        return Tensor.record(Tensor.mapKernel(self) { tk_gelu_erf($0, $1, $2) }, inputs: [self]) { g in
            [Tensor.mapBackward(x, g) { tk_gelu_erf_backward($0, $1, $2, $3) }]
        }
    }

    /// GELU, tanh approximation — GPT-2's `gelu_new`, PyTorch's `gelu(approximate="tanh")`.
    public func geluTanh() -> Tensor {
        let x = detached
        return Tensor.record(Tensor.mapKernel(self) { tk_gelu_tanh($0, $1, $2) }, inputs: [self]) { g in
            [Tensor.mapBackward(x, g) { tk_gelu_tanh_backward($0, $1, $2, $3) }]
        }
    }

    /// SwiGLU gate: silu(gate) ⊙ up, fused so the SiLU output is never stored.
    public static func swiglu(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "swiglu: \(gate.shape) vs \(up.shape)")
        let out = Tensor.uninitialized(gate.shape)
        let pg = gate.pointer, pu = up.pointer, po = out.pointer
        Parallel.forRanges(gate.count, minimumChunk: 1 << 15) { r in
            tk_swiglu(pg + r.lowerBound, pu + r.lowerBound, po + r.lowerBound, r.count)
        }
        let (gd, ud) = (gate.detached, up.detached)
        let (needGate, needUp) = (gate.requiresGradient, up.requiresGradient)
        return record(out, inputs: [gate, up]) { g in
            let dg = needGate ? Tensor.uninitialized(gd.shape) : nil
            let du = needUp ? Tensor.uninitialized(ud.shape) : nil
            let pdg = dg?.pointer, pdu = du?.pointer
            Parallel.forRanges(gd.count, minimumChunk: 1 << 15) { r in
                tk_swiglu_backward(gd.pointer + r.lowerBound, ud.pointer + r.lowerBound, g.pointer + r.lowerBound,
                                   pdg.map { $0 + r.lowerBound }, pdu.map { $0 + r.lowerBound }, r.count)
            }
            return [dg, du]
        }
    }
}
