import Tensor

/// A module holding named adapters — what every PEFT method installs into a model.
///
/// Generation, checkpoints and export find adapters through this protocol without knowing which
/// method made them. A layer either wraps a base module and stands in for it (LoRA, IA3 around a
/// linear layer: ``wrapped`` is the base) or adds to the model without replacing anything
/// (a bottleneck after a sublayer, a learned prefix: ``wrapped`` is nil).
public protocol AdapterLayer: Module {
    /// Names of the adapters this layer holds, sorted.
    var adapterNames: [String] { get }
    /// The adapter applied when ``AdapterRouting/selection`` is `.active`.
    var activeAdapter: String? { get }
    /// Selects the adapter applied under `.active` routing (nil: none). Throws for an unknown name.
    func setActiveAdapter(_ name: String?) throws
    /// Removes adapter `name` (unmerging it first if it is merged).
    func removeAdapter(_ name: String) throws
    /// The module this layer wraps and stands in for when the model is exported, if any.
    var wrapped: (any Module)? { get }
    /// The parameters of adapter `name`, by their name inside this layer.
    func parameters(ofAdapter name: String) -> [(name: String, parameter: Parameter)]
}

extension Module {
    /// Every adapter layer in the tree, by path.
    public func adapterLayers() -> [(path: String, layer: any AdapterLayer)] {
        namedModules().compactMap { path, m in (m as? any AdapterLayer).map { (path, $0) } }
    }

    /// Every adapter layer of one kind in the tree, by path.
    public func adapterLayers<Layer: AdapterLayer>(_ kind: Layer.Type) -> [(path: String, layer: Layer)] {
        namedModules().compactMap { path, m in (m as? Layer).map { (path, $0) } }
    }

    /// Names of all adapters in the tree, sorted.
    public func adapterNames() -> [String] {
        Array(Set(adapterLayers().flatMap { $0.layer.adapterNames })).sorted()
    }
}
