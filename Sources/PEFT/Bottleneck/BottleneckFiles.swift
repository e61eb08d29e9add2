import Foundation
import Model
import Tensor

extension Bottleneck {
    /// AdapterHub's configuration file name.
    public static let configFileName = "adapter_config.json"
    /// AdapterHub's weights file name (`save_adapter(…, use_safetensors=True)`).
    public static let weightsFileName = "adapter.safetensors"

    /// Whether `directory` looks like a folder AdapterHub's `save_adapter` wrote: an
    /// `adapter_config.json` with a `config` block and no PEFT `peft_type`.
    public static func isAdapterHubFolder(_ directory: URL) -> Bool {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(configFileName)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["config"] != nil && object["peft_type"] == nil
    }

    /// Reads an AdapterHub adapter folder's `adapter_config.json`.
    public static func readConfig(at directory: URL) throws -> AdapterHubAdapterConfig {
        let url = directory.appendingPathComponent(configFileName)
        guard let data = try? Data(contentsOf: url) else {
            throw BottleneckError.malformedFolder(path: directory.path, reason: "no readable \(configFileName)")
        }
        do { return try JSONDecoder().decode(AdapterHubAdapterConfig.self, from: data) } catch let e as BottleneckError {
            throw e
        } catch {
            throw BottleneckError.malformedFolder(path: url.path, reason: "\(error)")
        }
    }

    /// Loads a folder written by AdapterHub's `save_adapter(dir, name, use_safetensors=True)` (or by
    /// ``save(adapterName:of:to:)``) into `model` as adapter `adapterName` (default: the
    /// name in the file), frozen and active.
    ///
    /// Every tensor must belong to an adapter location the configuration enables, in a block the
    /// model has, with the shape the configuration and the model's width give; every expected tensor
    /// must be present. Nothing is changed when a check fails.
    @discardableResult
    public static func load(from directory: URL, into model: any CausalLanguageModel,
                            adapterName: String? = nil) throws -> AdapterHubAdapterConfig {
        let config = try readConfig(at: directory)
        let configuration = config.configuration.recordingFacts(of: model)
        let weightsURL = directory.appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw BottleneckError.malformedFolder(path: directory.path, reason: "no \(weightsFileName) (only safetensors adapters are read)")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: weightsURL) } catch {
            throw BottleneckError.malformedFolder(path: weightsURL.path, reason: "\(error)")
        }
        let hidden = model.description.hiddenSize
        let blocks = try decoderBlocks(in: model)
        var unused = Set(file.tensorNames)
        var plan: [(path: String, adapter: BottleneckAdapter)] = []
        for (index, block) in blocks {
            for location in BottleneckLocation.allCases where configuration.hasAdapter(at: location, layer: index) {
                let path = block + "." + location.rawValue
                let adapter = try BottleneckAdapter(
                    hiddenSize: hidden, bottleneckSize: try configuration.bottleneckSize(layer: index, hiddenSize: hidden),
                    configuration: configuration, seed: 0)
                for (name, parameter) in adapter.localParameters {
                    let key = "\(path).adapters.\(config.name).\(name)"
                    guard unused.remove(key) != nil else {
                        throw BottleneckError.incompatibleTensor(name: key, reason: "missing from \(weightsFileName)")
                    }
                    let tensor: Tensor
                    do { tensor = try file.tensor(named: key) } catch {
                        throw BottleneckError.incompatibleTensor(name: key, reason: "unreadable: \(error)")
                    }
                    guard tensor.shape == parameter.shape else {
                        throw BottleneckError.incompatibleTensor(
                            name: key, reason: "shape \(tensor.shape), expected \(parameter.shape) for hidden size \(hidden)")
                    }
                    try parameter.assign(tensor)
                    parameter.isTrainable = false
                }
                plan.append((path, adapter))
            }
        }
        if let extra = unused.sorted().first {
            throw BottleneckError.incompatibleTensor(name: extra, reason: unexpectedReason(extra, blocks: blocks, configuration: configuration))
        }
        if let h = config.configuration.hiddenSize, h != hidden {
            throw BottleneckError.unsupportedModel("the adapter was made for hidden size \(h), the model has \(hidden)")
        }
        try install(plan, named: adapterName ?? config.name, in: model)
        model.setTrainable(false)
        return config
    }

    private static func unexpectedReason(_ key: String, blocks: [(index: Int, path: String)],
                                         configuration: BottleneckConfiguration) -> String {
        guard let block = blocks.first(where: { key.hasPrefix($0.path + ".") }) else {
            return "no decoder block of the model holds it (the model has \(blocks.count) blocks)"
        }
        for location in BottleneckLocation.allCases where key.hasPrefix(block.path + "." + location.rawValue + ".") {
            return configuration.hasAdapter(at: location, layer: block.index)
                ? "not a tensor of this adapter (another name, or a setting the configuration does not enable)"
                : "the configuration puts no adapter at \(location.rawValue) of block \(block.index)"
        }
        return "not a bottleneck adapter tensor"
    }

    /// Saves adapter `adapterName` as AdapterHub's `save_adapter(dir, name, use_safetensors=True)`
    /// does: `adapter_config.json` (the adapter's own configuration, remembered by the model) and
    /// `adapter.safetensors` with AdapterHub's keys. Files are written atomically.
    public static func save(adapterName: String = "default", of model: any CausalLanguageModel, to directory: URL) throws {
        let params = adapterParameters(in: model, adapterName: adapterName)
        guard let configuration = slots(in: model).lazy.compactMap({ $0.slot.adapters[adapterName]?.configuration }).first,
              !params.isEmpty else {
            throw BottleneckError.adapterName("no bottleneck adapter named '\(adapterName)' in the model")
        }
        let config = AdapterHubAdapterConfig(configuration: configuration, name: adapterName)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (key, p) in params { tensors[key] = p.value }
        try SafetensorsWriter.write(tensors, to: directory.appendingPathComponent(weightsFileName))
        try Data((config.adapterHubJSON.rendered() + "\n").utf8)
            .write(to: directory.appendingPathComponent(configFileName), options: .atomic)
    }
}
