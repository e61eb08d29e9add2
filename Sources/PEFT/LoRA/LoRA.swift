import Foundation
import Model
import Tensor

/// Adding, switching, merging and listing LoRA adapters on a model.
public enum LoRA {
    /// Wraps every linear layer `configuration` targets with a ``LoRALinear`` holding a new adapter
    /// named `adapterName`, freezes all other parameters, and activates the new adapter.
    ///
    /// - Returns: the module paths that were wrapped.
    @discardableResult
    public static func apply(_ configuration: LoRAConfiguration, to model: any Module, adapterName: String = "default",
                             seed: UInt64 = 0) throws -> [String] {
        try configuration.validate()
        let paths = targetPaths(configuration, in: model)
        guard !paths.isEmpty else { throw LoRAError.noTargetModules("\(configuration.targetModules)") }
        model.setTrainable(false)
        var rng = SeededRandom(seed: seed)
        for path in paths {
            let module = try model.module(at: path)
            let wrapper: LoRALinear
            if let existing = module as? LoRALinear {
                wrapper = existing
            } else if let linear = module as? any LinearLayer {
                wrapper = LoRALinear(base: linear, seed: rng.next())
                try model.replaceModule(at: path, with: wrapper)
            } else { continue }
            let (rank, scale) = configuration.rankAndScale(for: path)
            try wrapper.addAdapter(adapterName, rank: rank, scale: scale, dropout: configuration.dropout,
                                   initialization: configuration.initialization)
            try wrapper.setActiveAdapter(adapterName)
        }
        return paths
    }

    /// Paths of the linear layers the configuration selects, in model order.
    public static func targetPaths(_ configuration: LoRAConfiguration, in model: any Module) -> [String] {
        model.namedModules().compactMap { path, module in
            guard module is any LinearLayer, !path.isEmpty else { return nil }
            guard matches(configuration.targetModules, path: path) else { return nil }
            if let layers = configuration.layersToTransform {
                guard let index = layerIndex(in: path), layers.contains(index) else { return nil }
            }
            return path
        }
    }

    static func matches(_ targets: TargetModules, path: String) -> Bool {
        switch targets {
        case .names(let names):
            return names.contains { path == $0 || path.hasSuffix("." + $0) }
        case .pattern(let p):
            guard let re = try? NSRegularExpression(pattern: "^(?:" + p + ")$") else { return false }
            return re.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
        case .allLinear:
            return !(path == "lm_head" || path.hasSuffix(".lm_head"))
        }
    }

    /// The block index in paths like `model.layers.3.…` or `transformer.h.3.…`.
    static func layerIndex(in path: String) -> Int? {
        let parts = path.split(separator: ".")
        for (i, p) in parts.enumerated() where (p == "layers" || p == "h") && i + 1 < parts.count {
            if let n = Int(parts[i + 1]) { return n }
        }
        return nil
    }

    /// Every LoRA-wrapped layer in the model, by path.
    public static func layers(in model: any Module) -> [(path: String, layer: LoRALinear)] {
        model.namedModules().compactMap { path, m in (m as? LoRALinear).map { (path, $0) } }
    }

    /// Names of the adapters present in the model.
    public static func adapterNames(in model: any Module) -> [String] {
        Array(Set(layers(in: model).flatMap { $0.layer.adapters.keys })).sorted()
    }

    /// Activates `name` (or none) in every LoRA layer — switching adapters without reloading the base.
    public static func setActiveAdapter(_ name: String?, in model: any Module) throws {
        let all = layers(in: model)
        if let name, !all.contains(where: { $0.layer.adapters[name] != nil }) {
            throw LoRAError.adapterName("no adapter named '\(name)'")
        }
        for (_, l) in all { try l.setActiveAdapter(l.adapters[name ?? ""] == nil ? nil : name) }
    }

    /// Merges the active adapter into the base weights of every LoRA layer.
    public static func merge(in model: any Module) throws {
        for (_, l) in layers(in: model) { try l.merge() }
    }

    /// Undoes ``merge(in:)``.
    public static func unmerge(in model: any Module) throws {
        for (_, l) in layers(in: model) { try l.unmerge() }
    }

    /// The adapter's A and B parameters under PEFT's saved key names
    /// (`base_model.model.<path>.lora_A.weight`).
    public static func adapterParameters(in model: any Module, adapterName: String = "default") -> [(key: String, parameter: Parameter)] {
        layers(in: model).flatMap { path, layer -> [(key: String, parameter: Parameter)] in
            guard let ad = layer.adapters[adapterName] else { return [] }
            return [("base_model.model.\(path).lora_A.weight", ad.a), ("base_model.model.\(path).lora_B.weight", ad.b)]
        }
    }

    /// Marks the named adapter's parameters trainable and everything else frozen.
    public static func makeTrainable(adapterName: String = "default", in model: any Module) {
        model.setTrainable(false)
        for (_, p) in adapterParameters(in: model, adapterName: adapterName) { p.isTrainable = true }
    }
}
