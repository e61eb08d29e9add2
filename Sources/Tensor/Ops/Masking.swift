/// Dropout and masked fill.
extension Tensor {
    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1−p).
    /// Identity when `p == 0`.
    public func dropout(_ p: Float, using rng: inout SeededRandom) -> Tensor {
        guard p > 0 else { return self }
        precondition(p < 1, "dropout probability must be below 1, got \(p)")
        let keep = 1 / (1 - p)
        // Inside a checkpointed segment the recompute replays the first pass's masks and leaves
        // the caller's generator where the first pass left it.
        let replayed = DropoutTape.replaying?.nextState()
        var draw = replayed ?? rng
        if replayed == nil { DropoutTape.recording?.record(rng) }
        let mask = Tensor.build(shape) { buf in
            for i in buf.indices { buf[i] = draw.nextUniform() < p ? 0 : keep }
        }
        if replayed == nil { rng = draw }
        let out = Tensor.broadcastApply(self, mask, MulKernel.self)
        return Tensor.record(out, inputs: [self]) { g in [Tensor.broadcastApply(g, mask, MulKernel.self)] }
    }

    /// Replaces elements where `mask` (broadcastable to this shape) is non-zero with `value`.
    public func maskedFill(_ mask: Tensor, with value: Float) -> Tensor {
        guard let shape = Broadcast.shape(self.shape, mask.shape), shape == self.shape else {
            preconditionFailure("maskedFill: mask \(mask.shape) does not broadcast to \(self.shape)")
        }
        let keep = Tensor.mapScalar(Tensor.broadcastApply(Tensor.zeros(self.shape), mask, AddKernel.self)) { $0 != 0 ? 0 : 1 }
        let out = Tensor.mapPair(self, keep) { x, k in k == 0 ? value : x }
        return Tensor.record(out, inputs: [self]) { g in [Tensor.broadcastApply(g, keep, MulKernel.self)] }
    }
}
