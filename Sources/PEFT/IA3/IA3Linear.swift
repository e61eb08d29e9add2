import Model
import Tensor

/// A linear layer with IA3 adapters: y = base(x) ⊙ l (the output rescaled), or for a feed-forward
/// target y = base(x ⊙ l) (the input rescaled). The base is frozen; the active vector can be merged
/// into a dense base weight (and bias) and unmerged again.
public final class IA3Linear: LinearLayer, MethodAdapterLayer {
    /// One adapter.
    public struct Adapter {
        /// The vector l: [Out], or [In] for a feed-forward target.
        public let scaling: Parameter
        /// Whether l rescales the input.
        public let feedforward: Bool
        /// The settings it was made with.
        public let configuration: IA3Configuration
    }

    /// The wrapped layer.
    public let base: any LinearLayer
    /// Adapters by name.
    public private(set) var adapters: [String: Adapter] = [:]
    /// The adapter applied under `.active` routing, if any.
    public private(set) var activeAdapter: String?
    /// The adapter currently merged into the base weight, if any.
    public private(set) var mergedAdapter: String?

    /// Wraps `base` with no adapters yet.
    public init(base: any LinearLayer) { self.base = base }

    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    public var wrapped: (any Module)? { base }
    public var adapterNames: [String] { adapters.keys.sorted() }

    /// The base layer's parameters under their own names, then `ia3_l.<adapter>` (PEFT's in-memory names).
    public var localParameters: [(name: String, parameter: Parameter)] {
        base.namedParameters() + adapterNames.flatMap { parameters(ofAdapter: $0) }
    }

    public func parameters(ofAdapter name: String) -> [(name: String, parameter: Parameter)] {
        adapters[name].map { [("ia3_l.\(name)", $0.scaling)] } ?? []
    }

    public func configuration(ofAdapter name: String) -> (any AdapterMethod)? { adapters[name]?.configuration }

    /// Installs adapter `name` with vector `scaling` (trainable).
    public func setAdapter(_ name: String, scaling: Tensor, feedforward: Bool, configuration: IA3Configuration) throws {
        let n = feedforward ? inFeatures : outFeatures
        guard scaling.shape == [n] else {
            throw AdapterError.incompatibleAdapter("IA3 vector \(scaling.shape) for a layer that needs [\(n)]")
        }
        if mergedAdapter == name { try unmerge() }
        adapters[name] = Adapter(scaling: Parameter(scaling), feedforward: feedforward, configuration: configuration)
    }

    public func removeAdapter(_ name: String) throws {
        if mergedAdapter == name { try unmerge() }
        adapters[name] = nil
        if activeAdapter == name { activeAdapter = nil }
    }

    public func setActiveAdapter(_ name: String?) throws {
        if let name, adapters[name] == nil { throw AdapterError.adapterName("no adapter named '\(name)'") }
        if let merged = mergedAdapter, merged != name { try unmerge() }
        activeAdapter = name
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch AdapterRouting.selection {
        case .active:
            guard let name = activeAdapter, mergedAdapter != name, let ad = adapters[name] else { return base(x) }
            return adapted(ad, x)
        case .base:
            return base(x)
        case .perRow(let names):
            // A feed-forward vector acts before the base product, so rows are computed group by group.
            return AdapterRouting.perRow(names, x, x) { name, xr, _ in
                guard let name, name != mergedAdapter, let ad = adapters[name] else { return base(xr) }
                return adapted(ad, xr)
            }
        }
    }

    private func adapted(_ ad: Adapter, _ x: Tensor) -> Tensor {
        ad.feedforward ? base(x * ad.scaling.tensor) : base(x) * ad.scaling.tensor
    }

    /// Multiplies the dense base weight's columns (feed-forward) or rows and bias by the active vector.
    public func merge() throws {
        guard let name = activeAdapter, mergedAdapter == nil, let ad = adapters[name] else { return }
        try rescaleBase(ad, invert: false)
        mergedAdapter = name
    }

    /// Divides the merged vector back out.
    public func unmerge() throws {
        guard let name = mergedAdapter, let ad = adapters[name] else { return }
        try rescaleBase(ad, invert: true)
        mergedAdapter = nil
    }

    private func rescaleBase(_ ad: Adapter, invert: Bool) throws {
        guard let dense = base as? Linear else { throw AdapterError.unsupported("merging into a \(type(of: base)) base layer") }
        let l = ad.scaling.value.scalars.map { invert ? 1 / $0 : $0 }
        let columns = inFeatures
        dense.weight.update { w in
            for i in 0..<w.count { w[i] *= ad.feedforward ? l[i % columns] : l[i / columns] }
        }
        if !ad.feedforward, let bias = dense.bias {
            bias.update { b in for i in 0..<b.count { b[i] *= l[i] } }
        }
    }
}
