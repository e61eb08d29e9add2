import Model
import Tensor

/// A linear layer with low-rank adapters: y = base(x) + s · B(A(dropout(x))).
///
/// Holds any number of named adapters; one (or none) is active. The base layer is frozen; only
/// the active adapter's A [r, In] and B [Out, r] receive gradients. The active adapter can be
/// merged into a dense base weight (W += s·B·A) for inference and unmerged again.
public final class LoRALinear: LinearLayer {
    /// One adapter's weights.
    public struct Adapter {
        /// A: [r, In].
        public let a: Parameter
        /// B: [Out, r].
        public let b: Parameter
        /// s = α/r (or α/√r).
        public let scale: Float
        /// Input dropout probability while training.
        public let dropout: Float
    }

    /// The wrapped layer.
    public let base: any LinearLayer
    /// Adapters by name.
    public private(set) var adapters: [String: Adapter] = [:]
    /// The adapter applied in the forward pass, if any.
    public private(set) var activeAdapter: String?
    /// The adapter currently merged into the base weight, if any.
    public private(set) var mergedAdapter: String?
    /// Dropout randomness (part of a training run's state).
    public var random: SeededRandom

    /// Wraps `base` with no adapters yet.
    public init(base: any LinearLayer, seed: UInt64 = 0) {
        self.base = base
        self.random = SeededRandom(seed: seed)
    }

    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }

    /// The base layer's parameters under their own names, then `lora_A.<adapter>.weight` and
    /// `lora_B.<adapter>.weight` (PEFT's in-memory names).
    public var localParameters: [(name: String, parameter: Parameter)] {
        var out = base.namedParameters()
        for name in adapters.keys.sorted() {
            out.append(("lora_A.\(name).weight", adapters[name]!.a))
            out.append(("lora_B.\(name).weight", adapters[name]!.b))
        }
        return out
    }

    /// Adds an adapter with freshly initialised weights (B = 0, so it starts as a no-op).
    public func addAdapter(_ name: String, rank: Int, scale: Float, dropout: Float, initialization: LoRAInitialization) throws {
        guard adapters[name] == nil else { throw LoRAError.adapterName("adapter '\(name)' already exists") }
        var rng = random.derived(stream: UInt64(adapters.count + 1))
        let a: Tensor
        switch initialization {
        case .kaimingUniform: a = Tensor.kaimingUniform([rank, inFeatures], using: &rng)
        case .gaussian: a = Tensor.normal([rank, inFeatures], std: 1 / Float(rank), using: &rng)
        }
        try setAdapter(name, a: a, b: Tensor.zeros([outFeatures, rank]), scale: scale, dropout: dropout, trainable: true)
    }

    /// Installs an adapter from given weights (replacing one of the same name).
    public func setAdapter(_ name: String, a: Tensor, b: Tensor, scale: Float, dropout: Float, trainable: Bool = true) throws {
        let r = a.shape.first ?? 0
        guard a.shape == [r, inFeatures], b.shape == [outFeatures, r], r > 0 else {
            throw LoRAError.incompatibleAdapter("A \(a.shape) / B \(b.shape) do not fit a \(outFeatures)x\(inFeatures) layer")
        }
        if mergedAdapter == name { try unmerge() }
        adapters[name] = Adapter(a: Parameter(a, trainable: trainable), b: Parameter(b, trainable: trainable), scale: scale, dropout: dropout)
    }

    /// Removes an adapter.
    public func removeAdapter(_ name: String) throws {
        if mergedAdapter == name { try unmerge() }
        adapters[name] = nil
        if activeAdapter == name { activeAdapter = nil }
    }

    /// Selects the adapter to apply (nil for the bare base layer). Unmerges a different merged one.
    public func setActiveAdapter(_ name: String?) throws {
        if let name, adapters[name] == nil { throw LoRAError.adapterName("no adapter named '\(name)'") }
        if let merged = mergedAdapter, merged != name { try unmerge() }
        activeAdapter = name
    }

    /// Folds the active adapter into the base weight.
    public func merge() throws {
        guard let name = activeAdapter, mergedAdapter == nil, let ad = adapters[name] else { return }
        try addToBase(ad, sign: 1)
        mergedAdapter = name
    }

    /// Takes a merged adapter back out of the base weight.
    public func unmerge() throws {
        guard let name = mergedAdapter, let ad = adapters[name] else { return }
        try addToBase(ad, sign: -1)
        mergedAdapter = nil
    }

    private func addToBase(_ ad: Adapter, sign: Float) throws {
        guard let dense = base as? Linear else {
            throw LoRAError.unsupported("merging into a \(type(of: base)) base layer")
        }
        let delta = GradientMode.withoutGradients { Tensor.matmul(ad.b.value, ad.a.value) * (sign * ad.scale) }
        delta.withUnsafeBufferPointer { d in
            dense.weight.update { w in for i in 0..<w.count { w[i] += d[i] } }
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = base(x)
        guard let name = activeAdapter, mergedAdapter != name, let ad = adapters[name] else { return y }
        var h = x
        if ad.dropout > 0 && GradientMode.isEnabled { h = h.dropout(ad.dropout, using: &random) }
        let low = Tensor.linear(h, weight: ad.a.tensor) * ad.scale
        return y + Tensor.linear(low, weight: ad.b.tensor)
    }
}
