import Foundation
import Tensor

/// Which optimizer to use, with its hyper-parameters.
public enum OptimizerKind: Sendable, Codable, Equatable {
    /// AdamW with decoupled weight decay and bias correction (PyTorch's `torch.optim.AdamW`).
    case adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01)
    /// SGD with momentum (PyTorch's `torch.optim.SGD`, dampening 0, not Nesterov).
    case sgd(momentum: Float = 0.9, weightDecay: Float = 0)
    /// AdamW with blockwise 8-bit moments, as bitsandbytes' `AdamW8bit` (``AdamW8bit``): 2 bytes
    /// of optimizer state per weight instead of 8.
    case adamW8bit(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01)
}

/// Updates parameters from their gradients; each parameter's state is its own.
///
/// State is keyed by the parameter's name so it can be saved in a checkpoint and restored into a
/// freshly built model.
public final class Optimizer {
    /// The optimizer's settings.
    public let kind: OptimizerKind
    /// Completed optimizer steps.
    public private(set) var step = 0
    /// First-moment (or momentum) buffers by parameter name.
    var first: [String: [Float]] = [:]
    /// Second-moment buffers by parameter name (AdamW).
    var second: [String: [Float]] = [:]

    /// The 8-bit optimizer that holds the state for ``OptimizerKind/adamW8bit(beta1:beta2:epsilon:weightDecay:)``.
    let eightBit: AdamW8bit?

    /// A fresh optimizer.
    public init(_ kind: OptimizerKind) {
        self.kind = kind
        if case let .adamW8bit(b1, b2, eps, wd) = kind {
            eightBit = AdamW8bit(beta1: Double(b1), beta2: Double(b2), epsilon: Double(eps), weightDecay: Double(wd))
        } else {
            eightBit = nil
        }
    }

    /// Bytes of optimizer state held.
    public var stateByteCount: Int {
        eightBit?.stateByteCount ?? 4 * (first.values.reduce(0) { $0 + $1.count } + second.values.reduce(0) { $0 + $1.count })
    }

    /// Applies one update to every parameter that has a gradient, at learning rate `lr`, with
    /// every gradient multiplied by `gradientScale` first (gradient clipping without a scaled copy
    /// of the gradients).
    public func update(_ parameters: [(name: String, parameter: Parameter)], gradients: [String: Tensor], learningRate lr: Float,
                       gradientScale: Float = 1) {
        step += 1
        if let eightBit {
            return eightBit.update(parameters, gradients: gradients, learningRate: Double(lr), gradientScale: gradientScale)
        }
        for (name, p) in parameters {
            guard let g = gradients[name] else { continue }
            let n = p.value.count
            // The moments are mutated where they live: a local copy of a dictionary value would
            // duplicate each buffer (copy-on-write) for the length of its update.
            switch kind {
            case let .adamW(b1, b2, eps, wd):
                let bc1 = 1 - powf(b1, Float(step)), bc2 = 1 - powf(b2, Float(step))
                g.withUnsafeBufferPointer { gp in
                    p.update { w in
                        first[name, default: [Float](repeating: 0, count: n)].withUnsafeMutableBufferPointer { mp in
                            second[name, default: [Float](repeating: 0, count: n)].withUnsafeMutableBufferPointer { vp in
                                let (wb, gb, mb, vb) = (w.baseAddress!, gp.baseAddress!, mp.baseAddress!, vp.baseAddress!)
                                func adamW(_ g: UnsafePointer<Float>, from offset: Int, count: Int) {
                                    VectorKernels.adamW(weights: wb + offset, gradients: g, firstMoment: mb + offset,
                                                        secondMoment: vb + offset, count: count, learningRate: lr, beta1: b1, beta2: b2,
                                                        epsilon: eps, weightDecay: wd, biasCorrection1: bc1, biasCorrection2: bc2)
                                }
                                if gradientScale == 1 { return adamW(gb, from: 0, count: n) }
                                // Scaled a slice at a time into a small buffer.
                                let slice = 16_384
                                withUnsafeTemporaryAllocation(of: Float.self, capacity: slice) { scratch in
                                    for offset in stride(from: 0, to: n, by: slice) {
                                        let count = Swift.min(slice, n - offset)
                                        for i in 0..<count { scratch[i] = gb[offset + i] * gradientScale }
                                        adamW(scratch.baseAddress!, from: offset, count: count)
                                    }
                                }
                            }
                        }
                    }
                }
            case .adamW8bit:
                break  // handled by `eightBit` above
            case let .sgd(momentum, wd):
                g.withUnsafeBufferPointer { gp in
                    p.update { w in
                        first[name, default: [Float](repeating: 0, count: n)].withUnsafeMutableBufferPointer { m in
                            for i in 0..<n {
                                let gi = gp[i] * gradientScale + wd * w[i]
                                // PyTorch initialises the buffer with the first gradient.
                                m[i] = step == 1 || momentum == 0 ? gi : momentum * m[i] + gi
                                w[i] -= lr * m[i]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The state as named tensors plus the step count, for checkpoints.
    public func stateTensors() -> [String: Tensor] {
        if let eightBit { return eightBit.stateTensors() }
        var out: [String: Tensor] = [:]
        for (k, v) in first { out["first." + k] = try? Tensor(shape: [v.count], values: v) }
        for (k, v) in second { out["second." + k] = try? Tensor(shape: [v.count], values: v) }
        return out
    }

    /// Restores state saved by ``stateTensors()`` for `parameters`. Every buffer must belong to one
    /// of them and hold as many values; otherwise nothing changes and the error says which one is off.
    public func restore(tensors: [String: Tensor], step: Int, parameters: [(name: String, parameter: Parameter)]) throws {
        func bad(_ s: String) -> TrainingError { .badCheckpoint("optimizer state: \(s)") }
        guard step >= 0 else { throw bad("negative step \(step)") }
        if let eightBit {
            try eightBit.restore(tensors: tensors, step: step, parameters: parameters)
            self.step = step
            return
        }
        let sizes = Dictionary(parameters.map { ($0.name, $0.parameter.value.count) }, uniquingKeysWith: { a, _ in a })
        var newFirst: [String: [Float]] = [:], newSecond: [String: [Float]] = [:]
        for (key, t) in tensors {
            let name: String
            if key.hasPrefix("first.") { name = String(key.dropFirst(6)) }
            else if key.hasPrefix("second."), case .adamW = kind { name = String(key.dropFirst(7)) }
            else { throw bad("unexpected tensor \(key)") }
            guard let n = sizes[name] else { throw bad("\(key) belongs to no trainable parameter") }
            guard t.count == n else { throw bad("\(key) holds \(t.count) values, the parameter has \(n)") }
            if key.hasPrefix("first.") { newFirst[name] = t.scalars } else { newSecond[name] = t.scalars }
        }
        if case .adamW = kind, let missing = newFirst.keys.first(where: { newSecond[$0] == nil }) ?? newSecond.keys.first(where: { newFirst[$0] == nil }) {
            throw bad("\(missing) has only one of its two moments")
        }
        self.step = step
        first = newFirst
        second = newSecond
    }
}

/// The global L2 norm of `gradients`, summed in name order so every process (and every
/// data-parallel replica) gets the same bits.
public func gradientNorm(_ gradients: [String: Tensor]) -> Float {
    var total = 0.0
    for (_, g) in gradients.sorted(by: { $0.key < $1.key }) {
        total += g.withUnsafeBufferPointer { Double(VectorKernels.sumOfSquares($0.baseAddress!, count: $0.count)) }
    }
    return Float(total.squareRoot())
}

/// The factor that brings gradients of global norm `norm` to at most `maxNorm`: PyTorch's
/// `clip_coef = max_norm / (total_norm + 1e-6)`, applied only when below 1.
public func clippingScale(norm: Float, maxNorm: Float) -> Float {
    let coefficient = maxNorm / (norm + 1e-6)
    return coefficient < 1 ? coefficient : 1
}

/// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
public func clipGradientNorm(_ gradients: inout [String: Tensor], maxNorm: Float) -> Float {
    let norm = gradientNorm(gradients)
    let scale = clippingScale(norm: norm, maxNorm: maxNorm)
    // One entry at a time, so each unscaled gradient is released as its scaled copy replaces it.
    if scale < 1 {
        for k in Array(gradients.keys) { if let g = gradients[k] { gradients[k] = g * scale } }
    }
    return norm
}
