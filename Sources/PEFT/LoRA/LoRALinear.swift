import Model
import Tensor

/// A linear layer with low-rank adapters: y = base(x) + s · B(A(dropout(x))) (+ s · b_B with
/// `lora_bias`). With DoRA the adapted weight W + s·B·A is rescaled per output row to a learned
/// magnitude m: y = (m / ‖W + s·B·A‖) ⊙ (W + s·B·A)·x, the norm taken without gradient as PEFT does.
///
/// Holds any number of named adapters; one (or none) is active, and ``AdapterRouting`` can pick
/// another per batch row without changing that. The base layer is frozen. The active adapter can be
/// merged into a dense base weight for inference and unmerged again.
public final class LoRALinear: LinearLayer, MethodAdapterLayer, StochasticModule {
    /// One adapter's weights.
    public struct Adapter {
        /// A: [r, In].
        public let a: Parameter
        /// B: [Out, r].
        public let b: Parameter
        /// B's bias [Out] (`lora_bias`).
        public let bBias: Parameter?
        /// DoRA's magnitude m [Out].
        public let magnitude: Parameter?
        /// s = α/r (or α/√r).
        public let scale: Float
        /// Input dropout probability while training.
        public let dropout: Float
        /// The settings it was made with.
        public let configuration: LoRAConfiguration
    }

    /// An adapter's tensors as stored, before they become parameters.
    public struct Weights {
        /// A: [r, In].
        public var a: Tensor
        /// B: [Out, r].
        public var b: Tensor
        /// B's bias [Out], with `lora_bias`.
        public var bBias: Tensor?
        /// DoRA's magnitude [Out].
        public var magnitude: Tensor?

        /// Weights from their parts.
        public init(a: Tensor, b: Tensor, bBias: Tensor? = nil, magnitude: Tensor? = nil) {
            (self.a, self.b, self.bBias, self.magnitude) = (a, b, bBias, magnitude)
        }

        /// Checks shapes against an Out×In layer and the configuration, naming `path` on failure.
        func check(path: String, inFeatures: Int, outFeatures: Int, expectedRank: Int?, useDoRA: Bool, loraBias: Bool) throws {
            let r = a.shape.first ?? 0
            guard r > 0, a.shape == [r, inFeatures], b.shape == [outFeatures, r] else {
                throw AdapterError.incompatibleAdapter("'\(path)': lora_A \(a.shape), lora_B \(b.shape) for a \(outFeatures)x\(inFeatures) layer")
            }
            if let expectedRank, expectedRank != r {
                throw AdapterError.incompatibleAdapter("'\(path)': the tensors have rank \(r) but the configuration says \(expectedRank)")
            }
            guard (magnitude != nil) == useDoRA else {
                throw AdapterError.incompatibleAdapter("'\(path)': use_dora is \(useDoRA) but lora_magnitude_vector is \(magnitude == nil ? "missing" : "present")")
            }
            guard (bBias != nil) == loraBias else {
                throw AdapterError.incompatibleAdapter("'\(path)': lora_bias is \(loraBias) but lora_B.bias is \(bBias == nil ? "missing" : "present")")
            }
            if let m = magnitude, m.shape != [outFeatures] {
                throw AdapterError.incompatibleAdapter("'\(path)': lora_magnitude_vector \(m.shape), expected [\(outFeatures)]")
            }
            if let bb = bBias, bb.shape != [outFeatures] {
                throw AdapterError.incompatibleAdapter("'\(path)': lora_B.bias \(bb.shape), expected [\(outFeatures)]")
            }
        }
    }

    /// The wrapped layer.
    public let base: any LinearLayer
    /// Adapters by name.
    public private(set) var adapters: [String: Adapter] = [:]
    /// The adapter applied under `.active` routing, if any.
    public private(set) var activeAdapter: String?
    /// The adapter currently merged into the base weight, if any.
    public private(set) var mergedAdapter: String?
    /// Dropout randomness (part of a training run's state).
    public var random: SeededRandom
    /// DoRA's weight norm at merge time, to unmerge exactly.
    private var mergedNorm: Tensor?

    /// Wraps `base` with no adapters yet.
    public init(base: any LinearLayer, seed: UInt64 = 0) {
        self.base = base
        self.random = SeededRandom(seed: seed)
    }

    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    public var wrapped: (any Module)? { base }
    public var adapterNames: [String] { adapters.keys.sorted() }

    /// The base layer's parameters under their own names, then every adapter's under PEFT's
    /// in-memory names (`lora_A.<adapter>.weight`, …).
    public var localParameters: [(name: String, parameter: Parameter)] {
        base.namedParameters() + adapterNames.flatMap { parameters(ofAdapter: $0) }
    }

    public func parameters(ofAdapter name: String) -> [(name: String, parameter: Parameter)] {
        guard let ad = adapters[name] else { return [] }
        var out: [(name: String, parameter: Parameter)] = [("lora_A.\(name).weight", ad.a), ("lora_B.\(name).weight", ad.b)]
        if let bb = ad.bBias { out.append(("lora_B.\(name).bias", bb)) }
        if let m = ad.magnitude { out.append(("lora_magnitude_vector.\(name).weight", m)) }
        return out
    }

    public func configuration(ofAdapter name: String) -> (any AdapterMethod)? { adapters[name]?.configuration }

    /// Adds an adapter with freshly initialised weights (B = 0 unless the configuration asks for
    /// random initialisation; DoRA's magnitude starts at the base weight's row norms).
    public func addAdapter(_ name: String, rank: Int, scale: Float, configuration: LoRAConfiguration) throws {
        guard adapters[name] == nil else { throw AdapterError.adapterName("adapter '\(name)' already exists") }
        guard rank > 0 else { throw AdapterError.invalidConfiguration("rank must be positive, got \(rank)") }
        var rng = random.derived(stream: UInt64(adapters.count + 1))
        var weights = Weights(a: Tensor.kaimingUniform([rank, inFeatures], using: &rng), b: Tensor.zeros([outFeatures, rank]))
        switch configuration.initialization {
        case .kaimingUniform: break
        case .gaussian: weights.a = Tensor.normal([rank, inFeatures], std: 1 / Float(rank), using: &rng)
        case .random: weights.b = Tensor.kaimingUniform([outFeatures, rank], using: &rng)
        }
        if configuration.loraBias { weights.bBias = Tensor.zeros([outFeatures]) }
        if configuration.useDoRA { weights.magnitude = try rowNorms(adding: nil, scale: 0) }
        try setAdapter(name, weights: weights, scale: scale, configuration: configuration)
    }

    /// Installs an adapter from given weights (replacing one of the same name); trainable.
    public func setAdapter(_ name: String, weights: Weights, scale: Float, configuration: LoRAConfiguration) throws {
        guard configuration.dropout >= 0 && configuration.dropout < 1 else {
            throw AdapterError.invalidConfiguration("lora_dropout must be in [0, 1), got \(configuration.dropout)")
        }
        try weights.check(path: name, inFeatures: inFeatures, outFeatures: outFeatures, expectedRank: nil,
                          useDoRA: configuration.useDoRA, loraBias: configuration.loraBias)
        if configuration.useDoRA && !(base is Linear) { throw AdapterError.unsupported("DoRA on a \(type(of: base)) base layer") }
        if mergedAdapter == name { try unmerge() }
        adapters[name] = Adapter(a: Parameter(weights.a), b: Parameter(weights.b), bBias: weights.bBias.map { Parameter($0) },
                                 magnitude: weights.magnitude.map { Parameter($0) }, scale: scale, dropout: configuration.dropout,
                                 configuration: configuration)
    }

    public func removeAdapter(_ name: String) throws {
        if mergedAdapter == name { try unmerge() }
        adapters[name] = nil
        if activeAdapter == name { activeAdapter = nil }
    }

    /// Selects the adapter to apply (nil for the bare base layer). Unmerges a different merged one.
    public func setActiveAdapter(_ name: String?) throws {
        if let name, adapters[name] == nil { throw AdapterError.adapterName("no adapter named '\(name)'") }
        if let merged = mergedAdapter, merged != name { try unmerge() }
        activeAdapter = name
    }

    // MARK: Forward

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = base(x)
        switch AdapterRouting.selection {
        case .active:
            guard let name = activeAdapter, mergedAdapter != name, let ad = adapters[name] else { return y }
            return adapted(ad, x, y)
        case .base:
            return y
        case .perRow(let names):
            return AdapterRouting.perRow(names, x, y) { name, xr, yr in
                guard let name, name != mergedAdapter, let ad = adapters[name] else { return yr }
                return adapted(ad, xr, yr)
            }
        }
    }

    /// y plus adapter `ad`'s contribution for input x.
    private func adapted(_ ad: Adapter, _ x: Tensor, _ y: Tensor) -> Tensor {
        let dropped = ad.dropout > 0 && GradientMode.isEnabled
        let h = dropped ? x.dropout(ad.dropout, using: &random) : x
        let low = Tensor.linear(Tensor.linear(h, weight: ad.a.tensor), weight: ad.b.tensor, bias: ad.bBias?.tensor) * ad.scale
        guard let m = ad.magnitude, let dense = base as? Linear else { return y + low }
        // DoRA: y + (m/‖W+sBA‖ − 1) ⊙ W·x + (m/‖W+sBA‖) ⊙ s·B·A·x, the norm detached.
        let norm = GradientMode.withoutGradients {
            (try? rowNorms(adding: Tensor.matmul(ad.b.value, ad.a.value), scale: ad.scale)) ?? Tensor.ones([outFeatures])
        }
        let magnitudeScale = m.tensor / norm
        let baseTerm = dropped ? Tensor.linear(h, weight: dense.weight.tensor) : (dense.bias.map { y - $0.tensor } ?? y)
        return y + (magnitudeScale - 1) * baseTerm + magnitudeScale * low
    }

    /// ‖W + scale·delta‖ per output row of the dense base weight.
    private func rowNorms(adding delta: Tensor?, scale: Float) throws -> Tensor {
        guard let dense = base as? Linear else { throw AdapterError.unsupported("DoRA on a \(type(of: base)) base layer") }
        return GradientMode.withoutGradients {
            let w = delta.map { dense.weight.value + $0 * scale } ?? dense.weight.value
            return w.squared().sum(axis: 1).sqrt()
        }
    }

    // MARK: Merging

    /// Folds the active adapter into the base weight (and bias, with `lora_bias`).
    public func merge() throws {
        guard let name = activeAdapter, mergedAdapter == nil, let ad = adapters[name] else { return }
        guard let dense = base as? Linear else { throw AdapterError.unsupported("merging into a \(type(of: base)) base layer") }
        if ad.bBias != nil && dense.bias == nil { throw AdapterError.unsupported("merging lora_bias into a layer without a bias") }
        let delta = GradientMode.withoutGradients { Tensor.matmul(ad.b.value, ad.a.value) }
        if let m = ad.magnitude {
            let norm = try rowNorms(adding: delta, scale: ad.scale)
            let rowScale = GradientMode.withoutGradients { (m.value / norm).scalars }
            update(dense.weight, delta: delta, sign: 1, scale: ad.scale, rowScale: rowScale, scaleFirst: false)
            mergedNorm = norm
        } else {
            update(dense.weight, delta: delta, sign: 1, scale: ad.scale, rowScale: nil, scaleFirst: false)
        }
        if let bb = ad.bBias, let bias = dense.bias { update(bias, delta: bb.value, sign: 1, scale: ad.scale, rowScale: nil, scaleFirst: false) }
        mergedAdapter = name
    }

    /// Takes a merged adapter back out of the base weight.
    public func unmerge() throws {
        guard let name = mergedAdapter, let ad = adapters[name], let dense = base as? Linear else { return }
        let delta = GradientMode.withoutGradients { Tensor.matmul(ad.b.value, ad.a.value) }
        if let m = ad.magnitude, let norm = mergedNorm {
            let rowScale = GradientMode.withoutGradients { (norm / m.value).scalars }
            update(dense.weight, delta: delta, sign: -1, scale: ad.scale, rowScale: rowScale, scaleFirst: true)
            mergedNorm = nil
        } else {
            update(dense.weight, delta: delta, sign: -1, scale: ad.scale, rowScale: nil, scaleFirst: false)
        }
        if let bb = ad.bBias, let bias = dense.bias { update(bias, delta: bb.value, sign: -1, scale: ad.scale, rowScale: nil, scaleFirst: false) }
        mergedAdapter = nil
    }

    /// w ← rowScale ⊙ (w + sign·scale·delta), or with `scaleFirst` rowScale ⊙ w + sign·scale·delta.
    private func update(_ p: Parameter, delta: Tensor, sign: Float, scale: Float, rowScale: [Float]?, scaleFirst: Bool) {
        let columns = p.shape.count == 2 ? p.shape[1] : p.value.count
        delta.withUnsafeBufferPointer { d in
            p.update { w in
                for i in 0..<w.count {
                    let r = rowScale?[i / columns] ?? 1
                    w[i] = scaleFirst ? r * w[i] + sign * scale * d[i] : r * (w[i] + sign * scale * d[i])
                }
            }
        }
    }
}
