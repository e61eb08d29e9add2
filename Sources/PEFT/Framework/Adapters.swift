import Foundation
import Model
import Tensor

/// Adding, loading, saving, switching, merging and training adapters of any registered method.
///
/// ```swift
/// try Adapters.apply(LoRAConfiguration(rank: 8, targetModules: .names(["q_proj", "v_proj"])), to: model)
/// // … train …
/// try Adapters.save(of: model, to: URL(fileURLWithPath: "my-adapter"))       // PEFT format
/// try Adapters.load(from: URL(fileURLWithPath: "other-adapter"), into: model, name: "other")
/// try Adapters.setActiveAdapter("other", in: model)
/// ```
public enum Adapters {
    /// Adds a fresh adapter `name` made by `method`, freezes everything else, makes the new
    /// adapter trainable and activates it.
    ///
    /// - Returns: the module paths where the method installed layers.
    @discardableResult
    public static func apply(_ method: any AdapterMethod, to model: any CausalLanguageModel, name: String = "default",
                             seed: UInt64 = 0) throws -> [String] {
        try method.validate()
        guard !names(in: model).contains(name) else { throw AdapterError.adapterName("adapter '\(name)' already exists") }
        let copyPaths = try ModulesToSave.paths(method.savedModuleNames, in: model)
        try ModulesToSave.install(copyPaths, name: name, weights: nil, configuration: method, in: model)
        let paths: [String]
        do { paths = try method.install(into: model, name: name, seed: seed) } catch {
            try? remove(name, from: model)
            throw error
        }
        try setActiveAdapter(name, in: model)
        makeTrainable(name, in: model)
        return paths + copyPaths
    }

    /// Loads an adapter folder of any registered method into `model` as adapter `name` (frozen) and
    /// activates it. Every tensor is checked against the model before anything changes.
    @discardableResult
    public static func load(from directory: URL, into model: any CausalLanguageModel, name: String = "default") throws -> any AdapterMethod {
        let folder = try AdapterFolder(at: directory)
        try folder.configuration.validate()
        guard !names(in: model).contains(name) else { throw AdapterError.adapterName("adapter '\(name)' already exists") }
        let method = folder.configuration
        var weights = folder.weights
        let copyPaths = try ModulesToSave.paths(method.savedModuleNames, in: model)
        let copies = try ModulesToSave.take(copyPaths, from: &weights, in: model)
        _ = try method.install(into: model, name: name, weights: weights)
        do { try ModulesToSave.install(copyPaths, name: name, weights: copies, configuration: method, in: model) } catch {
            try? remove(name, from: model)
            throw error
        }
        for (_, p) in parameters(of: name, in: model) { p.isTrainable = false }
        try setActiveAdapter(name, in: model)
        return folder.configuration
    }

    /// Saves adapter `name` with the configuration it was made with, in its method's format
    /// (PEFT's for the PEFT methods). Each file is written atomically.
    public static func save(_ name: String = "default", of model: any CausalLanguageModel, to directory: URL) throws {
        guard let configuration = configuration(of: name, in: model) else {
            throw AdapterError.adapterName("no adapter named '\(name)' in the model")
        }
        let tensors = try configuration.weights(of: name, in: model)
            .merging(ModulesToSave.weights(of: name, in: model)) { method, _ in method }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let method = type(of: configuration)
        try SafetensorsWriter.write(tensors, to: directory.appendingPathComponent(method.weightsFileName), metadata: ["format": "pt"])
        try configuration.encodeConfiguration(adapterName: name)
            .write(to: directory.appendingPathComponent(method.configurationFileName), options: .atomic)
    }

    /// The configuration adapter `name` was made or loaded with.
    public static func configuration(of name: String = "default", in model: any Module) -> (any AdapterMethod)? {
        for (_, layer) in methodLayers(in: model) {
            if let c = layer.configuration(ofAdapter: name) { return c }
        }
        return nil
    }

    /// Names of the adapters in the model, sorted.
    public static func names(in model: any Module) -> [String] { model.adapterNames() }

    /// Activates adapter `name` (or none) everywhere — switching adapters without reloading the base.
    public static func setActiveAdapter(_ name: String?, in model: any Module) throws {
        let layers = model.adapterLayers()
        if let name, !layers.contains(where: { $0.layer.adapterNames.contains(name) }) {
            throw AdapterError.adapterName("no adapter named '\(name)'; the model has \(names(in: model))")
        }
        for (_, layer) in layers {
            try layer.setActiveAdapter(name.flatMap { layer.adapterNames.contains($0) ? $0 : nil })
        }
    }

    /// The active adapter, if any.
    public static func activeAdapter(in model: any Module) -> String? {
        model.adapterLayers().lazy.compactMap { $0.layer.activeAdapter }.first
    }

    /// Folds the active adapter into the base weights of every layer (methods that define merging).
    public static func merge(in model: any Module) throws {
        for (_, layer) in methodLayers(in: model) { try layer.merge() }
    }

    /// Undoes ``merge(in:)``.
    public static func unmerge(in model: any Module) throws {
        for (_, layer) in methodLayers(in: model) { try layer.unmerge() }
    }

    /// Removes adapter `name` from every layer; empty prefix slots and empty `modules_to_save` holders go too.
    public static func remove(_ name: String, from model: any CausalLanguageModel) throws {
        guard names(in: model).contains(name) else { throw AdapterError.adapterName("no adapter named '\(name)'") }
        for (_, layer) in model.adapterLayers() where layer.adapterNames.contains(name) { try layer.removeAdapter(name) }
        if let prefix = model.sequencePrefix as? any AdapterLayer, prefix.adapterNames.isEmpty { model.sequencePrefix = nil }
        ModulesToSave.unwrapEmptyHolders(in: model)
    }

    /// The parameters of adapter `name`, by full module path.
    public static func parameters(of name: String = "default", in model: any Module) -> [(path: String, parameter: Parameter)] {
        model.adapterLayers().flatMap { path, layer in
            layer.parameters(ofAdapter: name).map { (path.isEmpty ? $0.name : path + "." + $0.name, $0.parameter) }
        }
    }

    /// Freezes every parameter, then makes adapter `name`'s parameters trainable.
    public static func makeTrainable(_ name: String = "default", in model: any Module) {
        model.setTrainable(false)
        for (_, p) in parameters(of: name, in: model) { p.isTrainable = true }
    }

    static func methodLayers(in model: any Module) -> [(path: String, layer: any MethodAdapterLayer)] {
        model.adapterLayers().compactMap { p, l in (l as? any MethodAdapterLayer).map { (p, $0) } }
    }
}
