import Model
import Tensor

/// A layer holding adapters' full copies of one base module (``SavedModuleCopies``), type-erased.
protocol ModuleCopyHolder: MethodAdapterLayer {
    /// The original module's parameters by their names in it ("weight", "bias").
    var originalParameters: [(name: String, parameter: Parameter)] { get }
    /// Adds adapter `name`'s copy, fresh or with `weights` keyed by parameter name (already checked).
    func addCopy(_ name: String, weights: [String: Tensor]?, configuration: any AdapterMethod) throws
    /// Adapter `name`'s copy's values by parameter name.
    func copyWeights(of name: String) -> [String: Tensor]
}

extension SavedModuleCopies: ModuleCopyHolder {
    var originalParameters: [(name: String, parameter: Parameter)] { original.namedParameters() }

    func addCopy(_ name: String, weights: [String: Tensor]?, configuration: any AdapterMethod) throws {
        let copy = original.duplicate()
        if let weights {
            for (key, p) in copy.namedParameters() { if let w = weights[key] { p.reset(to: w) } }
        }
        try addCopy(name, copy: copy, configuration: configuration)
    }

    func copyWeights(of name: String) -> [String: Tensor] {
        guard let copy = copies[name] else { return [:] }
        return Dictionary(uniqueKeysWithValues: copy.namedParameters().map { ($0.name, $0.parameter.value) })
    }
}

/// PEFT's `modules_to_save`, for every method: finding the modules, installing and saving the copies.
///
/// A name selects every module whose path ends with it (PEFT's rule); the module must be a dense
/// linear layer, an embedding or a norm in a replaceable slot. On disk each copy's tensors carry the
/// original module's key (`base_model.model.lm_head.weight`).
enum ModulesToSave {
    static let keyPrefix = "base_model.model."

    /// The paths `names` select in `model`; throws when a name selects nothing.
    static func paths(_ names: [String], in model: any CausalLanguageModel) throws -> [String] {
        guard !names.isEmpty else { return [] }
        let inside = model.adapterLayers().map { $0.path + "." }
        var found: [String] = []
        for name in names {
            let matches = model.namedModules().compactMap { path, module -> String? in
                guard !path.isEmpty, path.hasSuffix(name), !inside.contains(where: { path.hasPrefix($0) }) else { return nil }
                if module is any ModuleCopyHolder { return path }
                // Replacing a module with itself changes nothing and tells whether its slot is replaceable.
                guard makeHolder(for: module) != nil, (try? model.replaceModule(at: path, with: module)) != nil else { return nil }
                return path
            }
            guard !matches.isEmpty else {
                let tied = name.hasSuffix("lm_head") && !model.namedModules().contains { $0.name.hasSuffix("lm_head") }
                throw AdapterError.noTargetModules("modules_to_save '\(name)' names no linear, embedding or norm module in a replaceable slot"
                    + (tied ? " (this model's output head is tied to its input embedding)" : ""))
            }
            found += matches
        }
        return Array(Set(found)).sorted()
    }

    /// Checks that `weights` hold every tensor of the copies at `paths`, with the originals' shapes,
    /// and returns them by path (keys taken out of `weights`).
    static func take(_ paths: [String], from weights: inout [String: Tensor],
                     in model: any CausalLanguageModel) throws -> [String: [String: Tensor]] {
        var byPath: [String: [String: Tensor]] = [:]
        for path in paths {
            let module = try model.module(at: path)
            let parameters = (module as? any ModuleCopyHolder)?.originalParameters ?? module.namedParameters()
            for (name, p) in parameters {
                let key = keyPrefix + path + "." + name
                guard let t = weights.removeValue(forKey: key) else {
                    throw AdapterError.incompatibleAdapter("modules_to_save tensor '\(key)' is missing")
                }
                guard t.shape == p.shape else {
                    throw AdapterError.incompatibleAdapter("'\(key)' has shape \(t.shape), the model's is \(p.shape)")
                }
                byPath[path, default: [:]][name] = t
            }
        }
        return byPath
    }

    /// Installs adapter `name`'s copies at `paths`, fresh or from `weights` (by path, then parameter name).
    static func install(_ paths: [String], name: String, weights: [String: [String: Tensor]]?,
                        configuration: any AdapterMethod, in model: any CausalLanguageModel) throws {
        for path in paths {
            let module = try model.module(at: path)
            let holder: any ModuleCopyHolder
            if let existing = module as? any ModuleCopyHolder {
                holder = existing
            } else if let made = makeHolder(for: module) {
                try model.replaceModule(at: path, with: made)
                holder = made
            } else {
                throw AdapterError.unsupported("modules_to_save on '\(path)' (\(type(of: module)))")
            }
            try holder.addCopy(name, weights: weights?[path], configuration: configuration)
        }
    }

    /// Adapter `name`'s copies' tensors, keyed as PEFT saves them.
    static func weights(of name: String, in model: any CausalLanguageModel) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (path, layer) in model.adapterLayers() {
            guard let holder = layer as? any ModuleCopyHolder else { continue }
            for (key, t) in holder.copyWeights(of: name) { out[keyPrefix + path + "." + key] = t }
        }
        return out
    }

    /// Puts the original module back wherever no adapter holds a copy any more.
    static func unwrapEmptyHolders(in model: any CausalLanguageModel) {
        for (path, layer) in model.adapterLayers() {
            guard let holder = layer as? any ModuleCopyHolder, holder.adapterNames.isEmpty, let original = holder.wrapped else { continue }
            try? model.replaceModule(at: path, with: original)
        }
    }

    private static func makeHolder(for module: any Module) -> (any ModuleCopyHolder)? {
        switch module {
        case let m as Linear: return SavedModuleCopies(original: m)
        case let m as Embedding: return SavedModuleCopies(original: m)
        case let m as RMSNorm: return SavedModuleCopies(original: m)
        case let m as LayerNorm: return SavedModuleCopies(original: m)
        default: return nil
        }
    }
}
