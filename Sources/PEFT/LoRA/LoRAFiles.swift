import Foundation
import Model
import Tensor

extension LoRA {
    /// PEFT's file names.
    public static let configFileName = "adapter_config.json"
    /// PEFT's weights file name.
    public static let weightsFileName = "adapter_model.safetensors"

    /// Saves adapter `adapterName` in Hugging Face PEFT's format: `adapter_config.json` and
    /// `adapter_model.safetensors` with keys `base_model.model.<module path>.lora_A.weight` /
    /// `.lora_B.weight` (no adapter name in the keys). Files are written atomically.
    public static func save(_ configuration: LoRAConfiguration, adapterName: String = "default", of model: any Module,
                            to directory: URL) throws {
        let params = adapterParameters(in: model, adapterName: adapterName)
        guard !params.isEmpty else { throw LoRAError.adapterName("no adapter named '\(adapterName)' in the model") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (key, p) in params { tensors[key] = p.value }
        try SafetensorsWriter.write(tensors, to: directory.appendingPathComponent(weightsFileName), metadata: ["format": "pt"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(configuration).write(to: directory.appendingPathComponent(configFileName), options: .atomic)
    }

    /// Reads a PEFT adapter folder's configuration.
    public static func readConfiguration(at directory: URL) throws -> LoRAConfiguration {
        let url = directory.appendingPathComponent(configFileName)
        guard let data = try? Data(contentsOf: url) else { throw ModelLoadError.missingFile(url.path) }
        do { return try JSONDecoder().decode(LoRAConfiguration.self, from: data) } catch let e as LoRAError {
            throw e
        } catch {
            throw ModelLoadError.malformedFile(path: url.path, reason: "\(error)")
        }
    }

    /// Loads a PEFT adapter folder (written by peft or by ``save(_:adapterName:of:to:)``) into
    /// `model` as adapter `adapterName`, wrapping the layers it names, and activates it.
    /// Every key must name a linear layer of the model with fitting shapes.
    @discardableResult
    public static func load(from directory: URL, into model: any Module, adapterName: String = "default") throws -> LoRAConfiguration {
        let configuration = try readConfiguration(at: directory)
        try configuration.validate()
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(weightsFileName))
        // Group keys by module path.
        var pairs: [String: (a: String?, b: String?)] = [:]
        for key in file.tensorNames {
            var path = key
            if path.hasPrefix("base_model.model.") { path.removeFirst("base_model.model.".count) }
            if path.hasSuffix(".lora_A.weight") {
                path.removeLast(".lora_A.weight".count); pairs[path, default: (nil, nil)].a = key
            } else if path.hasSuffix(".lora_B.weight") {
                path.removeLast(".lora_B.weight".count); pairs[path, default: (nil, nil)].b = key
            } else {
                throw LoRAError.incompatibleAdapter("unexpected key '\(key)'")
            }
        }
        guard !pairs.isEmpty else { throw LoRAError.incompatibleAdapter("the adapter file has no LoRA weights") }
        // Check everything before changing the model.
        var plan: [(path: String, layer: any LinearLayer, a: Tensor, b: Tensor)] = []
        for (path, keys) in pairs.sorted(by: { $0.key < $1.key }) {
            guard let ak = keys.a, let bk = keys.b else { throw LoRAError.incompatibleAdapter("'\(path)' lacks lora_A or lora_B") }
            guard let module = try? model.module(at: path), let linear = module as? any LinearLayer else {
                throw LoRAError.incompatibleAdapter("no linear layer at '\(path)'")
            }
            let a = try file.tensor(named: ak), b = try file.tensor(named: bk)
            let r = a.shape.first ?? 0
            guard a.shape == [r, linear.inFeatures], b.shape == [linear.outFeatures, r] else {
                throw LoRAError.incompatibleAdapter("'\(path)': A \(a.shape), B \(b.shape) for a \(linear.outFeatures)x\(linear.inFeatures) layer")
            }
            plan.append((path, linear, a, b))
        }
        model.setTrainable(false)
        for (path, layer, a, b) in plan {
            let wrapper: LoRALinear
            if let existing = layer as? LoRALinear { wrapper = existing } else {
                wrapper = LoRALinear(base: layer)
                try model.replaceModule(at: path, with: wrapper)
            }
            let (_, scale) = configuration.rankAndScale(for: path)
            try wrapper.setAdapter(adapterName, a: a, b: b, scale: scale, dropout: configuration.dropout, trainable: false)
            try wrapper.setActiveAdapter(adapterName)
        }
        return configuration
    }
}
