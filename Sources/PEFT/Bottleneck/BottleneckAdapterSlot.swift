import Model
import Tensor

/// The residual join after one sub-layer of a decoder block holding named bottleneck adapters —
/// AdapterHub's `attention_adapters` / `output_adapters` (its `BottleneckLayer`). Without an adapter
/// in use it is the plain join `output + residual`, so installing it leaves the model unchanged.
///
/// The adapter used follows ``AdapterRouting/selection``: the active one, none (`.base`), or one per
/// batch row. Adapters sit under the child `adapters`, so their parameters get AdapterHub's paths
/// (`model.layers.0.output_adapters.adapters.NAME.adapter_up.weight`).
public final class BottleneckAdapterSlot: MethodAdapterLayer, ResidualJoin {
    /// Which of the block's two joins this is.
    public let location: BottleneckLocation
    /// The adapter applied under the `.active` selection, if any.
    public private(set) var activeAdapter: String?
    private let store = AdapterSet()

    /// An empty slot (the plain residual join).
    public init(location: BottleneckLocation) { self.location = location }

    /// Adapters by name.
    public var adapters: [String: BottleneckAdapter] { store.adapters }

    public var children: [(name: String, module: any Module)] { [("adapters", store)] }

    public var adapterNames: [String] { store.adapters.keys.sorted() }

    /// Nil: a slot adds to the model without standing in for anything.
    public var wrapped: (any Module)? { nil }

    public func parameters(ofAdapter name: String) -> [(name: String, parameter: Parameter)] {
        store.adapters[name]?.namedParameters(prefix: "adapters.\(name).") ?? []
    }

    public func configuration(ofAdapter name: String) -> (any AdapterMethod)? { store.adapters[name]?.configuration }

    /// Adds (or replaces) the adapter `name`.
    public func setAdapter(_ name: String, _ adapter: BottleneckAdapter) { store.adapters[name] = adapter }

    /// Removes the adapter `name` (deactivating it if active).
    public func removeAdapter(_ name: String) {
        store.adapters[name] = nil
        if activeAdapter == name { activeAdapter = nil }
    }

    /// Selects the adapter to apply (nil for the plain join).
    public func setActiveAdapter(_ name: String?) throws {
        if let name, store.adapters[name] == nil { throw AdapterError.adapterName("no bottleneck adapter named '\(name)'") }
        activeAdapter = name
    }

    /// `output` (the sub-layer's output) joined with the block's `residual`, through the selected adapter.
    public func callAsFunction(_ output: Tensor, residual: Tensor) -> Tensor {
        switch AdapterRouting.selection {
        case .base: return output + residual
        case .active: return join(output, residual, adapter: activeAdapter)
        case .perRow(let names):
            return AdapterRouting.perRow(names, output, residual) { name, o, r in join(o, r, adapter: name) }
        }
    }

    private func join(_ output: Tensor, _ residual: Tensor, adapter name: String?) -> Tensor {
        guard let name, let adapter = store.adapters[name] else { return output + residual }
        return adapter(output, residual: residual)
    }

    /// The `adapters` node: one child per adapter name.
    final class AdapterSet: Module {
        var adapters: [String: BottleneckAdapter] = [:]
        var children: [(name: String, module: any Module)] {
            adapters.keys.sorted().map { ($0, adapters[$0]!) }
        }
    }
}
