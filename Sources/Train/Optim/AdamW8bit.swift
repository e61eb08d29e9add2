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
    public internal(set) var step = 0

    /// One parameter's moments.
    public enum State {
        /// Blockwise 8-bit codes and their absmax.
        case quantized(state1: [UInt8], absmax1: [Float], state2: [UInt8], absmax2: [Float])
        /// Float32 moments.
        case full(state1: [Float], state2: [Float])
    }

    /// State by parameter name.
    public internal(set) var states: [String: State] = [:]

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
    ///
    /// 8-bit state is updated block by block where it lives (decode a block, update it and its
    /// weights, encode it again), so no Float32 copy of a parameter's moments ever exists.
    /// Every gradient is multiplied by `gradientScale` first (gradient clipping without a copy).
    public func update(_ parameters: [(name: String, parameter: Parameter)], gradients: [String: Tensor], learningRate lr: Double,
                       gradientScale: Float = 1) {
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = (1 - pow(beta2, Double(step))).squareRoot()
        for (name, p) in parameters {
            guard let gradient = gradients[name] else { continue }
            let n = gradient.count
            guard n == p.value.count else { continue }
            if n >= minimum8BitSize {
                updateEightBit(name, p, gradient, learningRate: lr, correction1: c1, correction2: c2, scale: gradientScale)
            } else {
                updateFull(name, p, gradient, learningRate: lr, correction1: c1, correction2: c2, scale: gradientScale)
            }
        }
    }

    /// bitsandbytes' 8-bit blockwise update of one parameter.
    private func updateEightBit(_ name: String, _ p: Parameter, _ gradient: Tensor, learningRate lr: Double,
                                correction1 c1: Double, correction2 c2: Double, scale: Float) {
        let n = gradient.count, size = Self.blockSize, blocks = (n + size - 1) / size
        // Taken out of the dictionary so the buffers are uniquely owned and mutate in place.
        var s1: [UInt8], a1: [Float], s2: [UInt8], a2: [Float]
        if case let .quantized(q1, m1, q2, m2)? = states.removeValue(forKey: name), q1.count == n, m1.count == blocks {
            (s1, a1, s2, a2) = (q1, m1, q2, m2)
        } else {
            (s1, a1, s2, a2) = ([UInt8](repeating: 0, count: n), [Float](repeating: 0, count: blocks),
                                [UInt8](repeating: 0, count: n), [Float](repeating: 0, count: blocks))
        }
        let step = AdamW8bitStep(beta1: Float(beta1), beta2: Float(beta2), oneMinusBeta1: Float(1 - beta1), oneMinusBeta2: Float(1 - beta2),
                                 decay: Float(1 - lr * weightDecay), decays: weightDecay > 0, stepSize: Float(-lr / c1),
                                 correction2: Float(c2), epsilon: Float(epsilon), gradientScale: scale)
        let (quantizer1, quantizer2) = (Self.quantizer1, Self.quantizer2)
        gradient.withUnsafeBufferPointer { gp in
            p.update { w in
                s1.withUnsafeMutableBufferPointer { s1p in s2.withUnsafeMutableBufferPointer { s2p in
                    a1.withUnsafeMutableBufferPointer { a1p in a2.withUnsafeMutableBufferPointer { a2p in
                        quantizer1.code.withUnsafeBufferPointer { code1 in quantizer2.code.withUnsafeBufferPointer { code2 in
                            quantizer1.table.withUnsafeBufferPointer { table1 in quantizer2.table.withUnsafeBufferPointer { table2 in
                                let pointers = (w.baseAddress!, gp.baseAddress!, s1p.baseAddress!, a1p.baseAddress!, s2p.baseAddress!,
                                                a2p.baseAddress!, code1.baseAddress!, code2.baseAddress!, table1.baseAddress!, table2.baseAddress!)
                                Parallel.forRanges(blocks, minimumChunk: 256) { range in
                                    VectorKernels.adamW8bitBlocks(weights: pointers.0, gradients: pointers.1, codes1: pointers.2,
                                                                  absmax1: pointers.3, codes2: pointers.4, absmax2: pointers.5,
                                                                  code1: pointers.6, code2: pointers.7, table1: pointers.8, table2: pointers.9,
                                                                  count: n, blockSize: size, blocks: range, step: step)
                                }
                            } }
                        } }
                    } }
                } }
            }
        }
        states[name] = .quantized(state1: s1, absmax1: a1, state2: s2, absmax2: a2)
    }

    /// bitsandbytes' 32-bit update of one (small) parameter.
    private func updateFull(_ name: String, _ p: Parameter, _ gradient: Tensor, learningRate lr: Double,
                            correction1 c1: Double, correction2 c2: Double, scale: Float) {
        let g = scale == 1 ? gradient.scalars : gradient.scalars.map { $0 * scale }, n = g.count
        var m: [Float], v: [Float]
        if case let .full(s1, s2)? = states.removeValue(forKey: name), s1.count == n, s2.count == n {
            (m, v) = (s1, s2)
        } else {
            (m, v) = ([Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
        }
        let (b1, b2, one1, one2) = (Float(beta1), Float(beta2), Float(1 - beta1), Float(1 - beta2))
        let decay = Float(1 - lr * weightDecay)
        let stepSize = Float(-lr * c2 / c1), epsScaled = Float(epsilon * c2)
        p.update { w in
            for i in 0..<n {
                m[i] = m[i] * b1 + one1 * g[i]
                v[i] = v[i] * b2 + one2 * g[i] * g[i]
                if weightDecay > 0 { w[i] = w[i] * decay }
                w[i] = w[i] + stepSize * (m[i] / (v[i].squareRoot() + epsScaled))
            }
        }
        states[name] = .full(state1: m, state2: v)
    }

    private static let quantizer1 = BlockQuantizer(code: DynamicQuantizationMap.signed)
    private static let quantizer2 = BlockQuantizer(code: DynamicQuantizationMap.unsigned)
}

extension AdamW8bit {
    /// The state as named tensors, for checkpoints: `state1.`/`absmax1.`/`state2.`/`absmax2.` plus
    /// the parameter name for 8-bit state (codes stored as their integer values), `first.`/`second.`
    /// for Float32 state.
    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        func put(_ key: String, _ values: [Float]) { out[key] = try? Tensor(shape: [values.count], values: values) }
        for (name, state) in states {
            switch state {
            case let .quantized(s1, a1, s2, a2):
                put("state1." + name, s1.map(Float.init))
                put("absmax1." + name, a1)
                put("state2." + name, s2.map(Float.init))
                put("absmax2." + name, a2)
            case let .full(s1, s2):
                put("first." + name, s1)
                put("second." + name, s2)
            }
        }
        return out
    }

    /// Restores state saved by ``stateTensors()`` for `parameters` at `step`. Every tensor must
    /// belong to a parameter, have its size, be the kind of state that parameter's size calls for
    /// (codes integers in 0…255, absmax finite and non-negative) and come with its three
    /// companions; otherwise nothing changes and the error names the tensor.
    public func restore(tensors: [String: Tensor], step: Int, parameters: [(name: String, parameter: Parameter)]) throws {
        func bad(_ s: String) -> TrainingError { .badCheckpoint("8-bit optimizer state: \(s)") }
        guard step >= 0 else { throw bad("negative step \(step)") }
        let sizes = Dictionary(parameters.map { ($0.name, $0.parameter.value.count) }, uniquingKeysWith: { a, _ in a })
        var parts: [String: [String: [Float]]] = [:]
        let kinds = ["state1", "absmax1", "state2", "absmax2", "first", "second"]
        for (key, t) in tensors {
            guard let dot = key.firstIndex(of: "."), kinds.contains(String(key[..<dot])) else { throw bad("unexpected tensor \(key)") }
            let kind = String(key[..<dot]), name = String(key[key.index(after: dot)...])
            guard let n = sizes[name] else { throw bad("\(key) belongs to no trainable parameter") }
            let blocks = (n + Self.blockSize - 1) / Self.blockSize
            let eightBit = n >= minimum8BitSize
            guard eightBit == (kind.hasPrefix("state") || kind.hasPrefix("absmax")) else {
                throw bad("\(key): a parameter of \(n) values keeps \(eightBit ? "8-bit" : "Float32") state")
            }
            let expected = kind.hasPrefix("absmax") ? blocks : n
            guard t.count == expected else { throw bad("\(key) holds \(t.count) values, expected \(expected)") }
            let values = t.scalars
            if kind.hasPrefix("state"), let v = values.first(where: { !($0 >= 0 && $0 <= 255 && $0.rounded() == $0) }) {
                throw bad("\(key) holds \(v), not an 8-bit code")
            }
            if kind.hasPrefix("absmax"), let v = values.first(where: { !($0 >= 0 && $0.isFinite) }) {
                throw bad("\(key) holds absmax \(v)")
            }
            parts[name, default: [:]][kind] = values
        }
        var restored: [String: State] = [:]
        for (name, p) in parts {
            if let s1 = p["state1"], let a1 = p["absmax1"], let s2 = p["state2"], let a2 = p["absmax2"] {
                restored[name] = .quantized(state1: s1.map { UInt8($0) }, absmax1: a1, state2: s2.map { UInt8($0) }, absmax2: a2)
            } else if let m = p["first"], let v = p["second"] {
                restored[name] = .full(state1: m, state2: v)
            } else {
                throw bad("\(name) is missing part of its state (has \(p.keys.sorted().joined(separator: ", ")))")
            }
        }
        self.step = step
        states = restored
    }
}
