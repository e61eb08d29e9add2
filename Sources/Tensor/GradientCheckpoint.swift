/// Gradient checkpointing: trade compute for memory by recomputing a segment's activations in the
/// backward pass instead of keeping them.
///
/// A checkpointed segment (a decoder block, say) runs its forward pass without recording, so only
/// its input is kept. When the backward pass reaches it, the segment runs again with recording on,
/// the incoming gradient is propagated through that fresh graph, and the gradients of the
/// segment's input and of its trainable parameters continue into the outer graph. Dropout masks
/// drawn in the first pass are replayed exactly in the recompute and the layers' random state is
/// left as the first pass left it, so a checkpointed run follows the same trajectory as a plain one.
public enum GradientCheckpointing {
    /// Whether ``segment(_:parameters:_:)`` checkpoints in the current task (set by the trainer
    /// around its forward passes).
    @TaskLocal public static var isEnabled = false

    /// Runs `body` on `x` — checkpointed when ``isEnabled`` and the graph is being recorded, plainly
    /// otherwise (inference, cached decoding). `parameters` is evaluated only when checkpointing.
    public static func segment(_ x: Tensor, parameters: @autoclosure () -> [Parameter],
                               _ body: @escaping (Tensor) -> Tensor) -> Tensor {
        guard isEnabled, GradientMode.isRecording else { return body(x) }
        return Tensor.checkpointed(x, parameters: parameters(), body)
    }
}

extension Tensor {
    /// `body(x)` whose activations are recomputed in the backward pass instead of stored.
    ///
    /// - Parameters:
    ///   - x: the segment's input.
    ///   - parameters: every parameter `body` reads; the trainable ones receive gradients. A trainable
    ///     parameter used by `body` but missing here would silently get no gradient from it.
    ///   - body: the segment; it must compute the same function when run again (randomness only
    ///     through ``Tensor/dropout(_:using:)``, which is replayed).
    public static func checkpointed(_ x: Tensor, parameters: [Parameter], _ body: @escaping (Tensor) -> Tensor) -> Tensor {
        var seen = Set<ObjectIdentifier>()
        let trainable = parameters.filter { $0.isTrainable && seen.insert(ObjectIdentifier($0)).inserted }
        guard GradientMode.isRecording, x.requiresGradient || !trainable.isEmpty else { return body(x) }
        let tape = DropoutTape()
        let input = x.detached
        let output = DropoutTape.$recording.withValue(tape) {
            GradientMode.$suspended.withValue(true) { body(input) }
        }.detached
        let leaves = trainable.map { $0.tensor.node }
        let needsInputGradient = x.requiresGradient
        let node = GradNode(inputs: [x.node] + leaves) { g in
            let inputParameter = Parameter(input, trainable: needsInputGradient)
            tape.rewind()
            let recomputed = DropoutTape.$replaying.withValue(tape) {
                DropoutTape.$recording.withValue(nil) {
                    GradientMode.$suspended.withValue(false) {
                        GradientMode.$enabled.withValue(true) { body(inputParameter.tensor) }
                    }
                }
            }
            let grads = recomputed.backpropagate(seed: g)
            return [needsInputGradient ? grads[inputParameter] : nil] + trainable.map { grads[$0] }
        }
        return output.attaching(node)
    }
}
