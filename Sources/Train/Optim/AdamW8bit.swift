import Foundation
import Quant
import Tensor

/// AdamW with 8-bit optimizer state, as bitsandbytes' `AdamW8bit` on the CPU: each parameter of
/// at least ``minimum8BitSize`` elements keeps its two moments blockwise quantized (blocks of 256,
/// first moment with the signed dynamic map `qmap1`, second with the unsigned one `qmap2`, one
/// Float32 absmax per block: `state1`, `state2`, `absmax1`, `absmax2`) — 2 bytes per weight
/// instead of 8. Each step decodes the moments, applies the Float32 AdamW update, and quantizes
/// them again. Smaller parameters keep Float32 moments (bitsandbytes' 32-bit update).
public final class AdamW8bit {
    /// Exponential decay of the first moment.
    public let beta1: Double
    /// Exponential decay of the second moment.
    public let beta2: Double
    /// Added to the denominator.
    public let epsilon: Double
    /// Decoupled weight decay.
    public let weightDecay: Double
    /// Parameters with fewer elements keep Float32 state (bitsandbytes' `min_8bit_size`).
    public let minimum8BitSize: Int
    /// Elements per quantization block of the state.
    public static let blockSize = 256
    /// Completed steps.
    public private(set) var step = 0

    /// One parameter's moments.
    public enum State {
        /// Blockwise 8-bit codes and their absmax.
        case quantized(state1: [UInt8], absmax1: [Float], state2: [UInt8], absmax2: [Float])
        /// Float32 moments.
        case full(state1: [Float], state2: [Float])
    }

    /// State by parameter name.
    public private(set) var states: [String: State] = [:]

    /// The signed dynamic map of the first moment (`qmap1`).
    public var qmap1: [Float] { DynamicQuantizationMap.signed }
    /// The unsigned dynamic map of the second moment (`qmap2`).
    public var qmap2: [Float] { DynamicQuantizationMap.unsigned }

    /// An optimizer with bitsandbytes' defaults.
    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 1e-2,
                minimum8BitSize: Int = 4096) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.minimum8BitSize = minimum8BitSize
    }

    /// Bytes of optimizer state held.
    public var stateByteCount: Int {
        states.values.reduce(0) { total, s in
            switch s {
            case let .quantized(s1, a1, s2, a2): return total + s1.count + s2.count + 4 * (a1.count + a2.count)
            case let .full(s1, s2): return total + 4 * (s1.count + s2.count)
            }
        }
    }

    /// Applies one update to every parameter that has a gradient, at learning rate `lr`.
    public func update(_ parameters: [(name: String, parameter: Parameter)], gradients: [String: Tensor], learningRate lr: Double) {
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = (1 - pow(beta2, Double(step))).squareRoot()
        let (b1, b2) = (Float(beta1), Float(beta2))
        let (a1, a2) = (Float(1 - beta1), Float(1 - beta2))
        let decay = Float(1 - lr * weightDecay)
        for (name, p) in parameters {
            guard let gradient = gradients[name] else { continue }
            let g = gradient.scalars, n = g.count
            let eightBit = n >= minimum8BitSize
            var (m, v): ([Float], [Float])
            switch states[name] {
            case let .quantized(s1, abs1, s2, abs2)?:
                m = BlockwiseQuantization.dequantize(codes: s1, absmax: abs1, code: qmap1, blockSize: Self.blockSize)
                v = BlockwiseQuantization.dequantize(codes: s2, absmax: abs2, code: qmap2, blockSize: Self.blockSize)
            case let .full(s1, s2)?:
                (m, v) = (s1, s2)
            case nil:
                (m, v) = ([Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
            }
            for i in 0..<n {
                m[i] = m[i] * b1 + a1 * g[i]
                v[i] = v[i] * b2 + a2 * g[i] * g[i]
            }
            p.update { w in
                if eightBit {
                    // bitsandbytes' 8-bit blockwise update.
                    let stepSize = Float(-lr / c1), correction = Float(c2), eps = Float(epsilon)
                    for i in 0..<n {
                        let denominator = v[i].squareRoot() / correction + eps
                        if weightDecay > 0 { w[i] = w[i] * decay }
                        w[i] = w[i] + stepSize * m[i] / denominator
                    }
                } else {
                    // bitsandbytes' 32-bit update.
                    let stepSize = Float(-lr * c2 / c1), epsScaled = Float(epsilon * c2)
                    for i in 0..<n {
                        if weightDecay > 0 { w[i] = w[i] * decay }
                        w[i] = w[i] + stepSize * (m[i] / (v[i].squareRoot() + epsScaled))
                    }
                }
            }
            if eightBit {
                let q1 = BlockwiseQuantization.quantize(m, code: qmap1, blockSize: Self.blockSize)
                let q2 = BlockwiseQuantization.quantize(v, code: qmap2, blockSize: Self.blockSize)
                states[name] = .quantized(state1: q1.codes, absmax1: q1.absmax, state2: q2.codes, absmax2: q2.absmax)
            } else {
                states[name] = .full(state1: m, state2: v)
            }
        }
    }
}
