import Tensor

extension HiddenRows {
    /// Σ −log softmax(head(hidden))[target] / `normalizer` (default: the number of rows with a
    /// target), computed `chunkRows` rows at a time so the [N, V] logits never exist whole.
    ///
    /// A dense head fuses its product with the loss (``Tensor/linearCrossEntropy(_:weight:targets:normalizer:chunkRows:)``).
    /// Any other head (quantized, adapted, a trained copy) runs per chunk through the autodiff
    /// graph, whose gradients for the chunk's hidden rows and the head's trainable parameters are
    /// taken at once and kept for the backward pass; the chunk's logits are then released. With
    /// per-row adapter routing (which addresses whole batches) the logits are computed whole.
    public func crossEntropy(targets: [Int32], normalizer: Float? = nil,
                             chunkRows: Int = Tensor.defaultCrossEntropyChunkRows) -> Tensor {
        if let weight = head.denseWeight {
            return Tensor.linearCrossEntropy(hidden, weight: weight, targets: targets, normalizer: normalizer, chunkRows: chunkRows)
        }
        let rows = hidden.shape.first ?? 0
        if case .perRow = AdapterRouting.selection { return whole(targets: targets, normalizer: normalizer) }
        guard hidden.rank == 2, rows == targets.count, rows > chunkRows, chunkRows > 0 else {
            return whole(targets: targets, normalizer: normalizer)
        }
        let denominator = normalizer ?? Float(Swift.max(1, targets.reduce(0) { $0 + ($1 == Tensor.ignoreIndex ? 0 : 1) }))
        var seen = Set<ObjectIdentifier>()
        let trainable = head.parameters.filter { $0.isTrainable && seen.insert(ObjectIdentifier($0)).inserted }
        let recording = GradientMode.isRecording && (hidden.requiresGradient || !trainable.isEmpty)
        guard recording else { return whole(targets: targets, normalizer: normalizer) }

        var total: Float = 0
        var hiddenGradients: [Tensor] = []
        var parameterGradients: [Tensor?] = Array(repeating: nil, count: trainable.count)
        let detached = hidden.detached
        for start in stride(from: 0, to: rows, by: chunkRows) {
            let end = Swift.min(rows, start + chunkRows)
            let input = Parameter(detached.slice(axis: 0, start..<end), trainable: hidden.requiresGradient)
            let loss = Tensor.crossEntropy(logits: head(input.tensor), targets: Array(targets[start..<end]), normalizer: denominator)
            total += loss.item
            let grads = loss.gradients()
            if hidden.requiresGradient { hiddenGradients.append(grads[input] ?? Tensor.zeros([end - start, detached.shape[1]])) }
            for (i, p) in trainable.enumerated() {
                if let g = grads[p] { parameterGradients[i] = parameterGradients[i].map { $0 + g } ?? g }
            }
        }
        let hiddenGradient = hiddenGradients.isEmpty ? nil : Tensor.concat(hiddenGradients, axis: 0)
        let needsHidden = hidden.requiresGradient, headGradients = parameterGradients
        return Tensor.record(Tensor(total), inputs: [hidden] + trainable.map(\.tensor)) { g in
            let s = g.item
            func scaled(_ t: Tensor?) -> Tensor? { t.map { s == 1 ? $0 : $0 * s } }
            return [needsHidden ? scaled(hiddenGradient) : nil] + headGradients.map(scaled)
        }
    }

    /// The plain loss on the whole logits.
    private func whole(targets: [Int32], normalizer: Float?) -> Tensor {
        Tensor.crossEntropy(logits: logits, targets: targets, normalizer: normalizer)
    }
}
