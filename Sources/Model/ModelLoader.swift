import Foundation
import Tensor

/// Loading pretrained models from disk.
public enum LanguageModel {
    /// Loads the model and its tokenizer from a Hugging Face folder (`config.json`, `*.safetensors`,
    /// `tokenizer.json`) or a `.gguf` file.
    public static func load(from url: URL, keepQuantized: Bool = false) throws -> (model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        (try loadModel(from: url, keepQuantized: keepQuantized), try TokenizerLoader.load(from: url))
    }

    /// Loads the model and its tokenizer, keeping the block-quantized weights `storage` names.
    public static func load(from url: URL, keeping storage: QuantizedStorage) throws -> (model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        (try loadModel(from: url, keeping: storage), try TokenizerLoader.load(from: url))
    }

    /// Loads only the model.
    ///
    /// - Parameter keepQuantized: for GGUF files, keep block-quantized weights in their stored
    ///   format (about 4–8 bits per weight in memory, decoded tile by tile inside each product)
    ///   instead of expanding them to Float32. Outputs agree with the Float32 model up to
    ///   summation order. Such weights are frozen (train adapters on top of them).
    public static func loadModel(from url: URL, keepQuantized: Bool = false) throws -> any CausalLanguageModel {
        try loadModel(from: url, keeping: keepQuantized ? .all : [])
    }

    /// Loads only the model, keeping the block-quantized weights of a GGUF file that `storage`
    /// names in their stored format (``QuantizedStorage``); other formats ignore it.
    public static func loadModel(from url: URL, keeping storage: QuantizedStorage) throws -> any CausalLanguageModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelLoadError.missingFile(url.path)
        }
        if isDirectory.boolValue { return try loadFolder(url) }
        guard url.pathExtension.lowercased() == "gguf" else {
            throw ModelLoadError.malformedFile(path: url.path, reason: "expected a model folder or a .gguf file")
        }
        return try loadGGUF(url, keeping: storage)
    }

    /// The architecture name in a folder's `config.json`.
    static func modelType(in configData: Data, path: String) throws -> String {
        struct Probe: Decodable { var model_type: String?; var architectures: [String]? }
        let probe: Probe
        do { probe = try JSONDecoder().decode(Probe.self, from: configData) } catch {
            throw ModelLoadError.malformedFile(path: path, reason: "\(error)")
        }
        if let t = probe.model_type { return t }
        if let a = probe.architectures?.first { return a }
        throw ModelLoadError.malformedFile(path: path, reason: "no model_type or architectures")
    }

    static func loadFolder(_ folder: URL) throws -> any CausalLanguageModel {
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = try? FileBytes.read(configURL) else { throw ModelLoadError.missingFile(configURL.path) }
        let architecture = try ArchitectureRegistry.forConfiguration(try modelType(in: data, path: configURL.path))
        return try architecture.build(configuration: data, path: configURL.path, weights: try ShardedSafetensors(folder: folder))
    }

    static func loadGGUF(_ url: URL, keeping storage: QuantizedStorage) throws -> any CausalLanguageModel {
        let archive = try GGUFWeightArchive(contentsOf: url)
        return try ArchitectureRegistry.forGGUF(archive.parameters.architecture).build(gguf: archive, keeping: storage)
    }
}
