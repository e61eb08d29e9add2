import Foundation
import Tensor

/// Loading pretrained models from disk.
public enum LanguageModel {
    /// Loads the model and its tokenizer from a Hugging Face folder (`config.json`, `*.safetensors`,
    /// `tokenizer.json`) or a `.gguf` file.
    public static func load(from url: URL, keepQuantized: Bool = false) throws -> (model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        (try loadModel(from: url, keepQuantized: keepQuantized), try TokenizerLoader.load(from: url))
    }

    /// Loads only the model.
    ///
    /// - Parameter keepQuantized: for GGUF files, keep block-quantized weights in their stored
    ///   format (about 4–8 bits per weight in memory, decoded tile by tile inside each product)
    ///   instead of expanding them to Float32. Outputs agree with the Float32 model up to
    ///   summation order. Such weights are frozen (train adapters on top of them).
    public static func loadModel(from url: URL, keepQuantized: Bool = false) throws -> any CausalLanguageModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelLoadError.missingFile(url.path)
        }
        if isDirectory.boolValue { return try loadFolder(url) }
        guard url.pathExtension.lowercased() == "gguf" else {
            throw ModelLoadError.malformedFile(path: url.path, reason: "expected a model folder or a .gguf file")
        }
        return try loadGGUF(url, keepQuantized: keepQuantized)
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
        guard let data = try? Data(contentsOf: configURL) else { throw ModelLoadError.missingFile(configURL.path) }
        let type = try modelType(in: data, path: configURL.path)
        let weights = try ShardedSafetensors(folder: folder)
        func decode<T: Decodable>(_: T.Type) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: data) } catch {
                throw ModelLoadError.malformedFile(path: configURL.path, reason: "\(error)")
            }
        }
        switch type {
        case "llama", "mistral", "qwen2", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM":
            return try LlamaModel(configuration: try decode(LlamaConfiguration.self), weights: weights)
        case "gpt2", "GPT2LMHeadModel":
            return try GPT2Model(configuration: try decode(GPT2Configuration.self), weights: weights)
        default:
            throw ModelLoadError.unsupportedArchitecture(type)
        }
    }

    static func loadGGUF(_ url: URL, keepQuantized: Bool) throws -> any CausalLanguageModel {
        let archive = try GGUFWeightArchive(contentsOf: url)
        let p = archive.parameters
        switch p.architecture {
        case "llama", "qwen2", "mistral":
            let names = Set(archive.tensorNames)
            var c = LlamaConfiguration(
                modelType: p.architecture, vocabularySize: p.vocabularySize, hiddenSize: p.embeddingLength,
                intermediateSize: p.feedForwardLength, layerCount: p.blockCount, headCount: p.headCount,
                kvHeadCount: p.headCountKV, headDimension: p.headDimension, rmsNormEpsilon: p.rmsNormEpsilon ?? 1e-6,
                ropeTheta: p.ropeFreqBase ?? 10_000, maxPositions: p.contextLength,
                tieWordEmbeddings: !names.contains("lm_head.weight"),
                attentionBias: names.contains("model.layers.0.self_attn.q_proj.bias"))
            c.outputBias = names.contains("model.layers.0.self_attn.o_proj.bias")
            c.slidingWindow = p.slidingWindow
            if let type = p.ropeScalingType {
                c.ropeScaling = RopeScaling(type: type, factor: p.ropeScalingFactor, originalMaxPositions: p.ropeScalingOriginalContextLength)
            }
            return try LlamaModel(configuration: c, weights: archive, keepQuantized: keepQuantized)
        case "gpt2":
            let c = GPT2Configuration(vocabularySize: p.vocabularySize, hiddenSize: p.embeddingLength, layerCount: p.blockCount,
                                      headCount: p.headCount, maxPositions: p.contextLength,
                                      layerNormEpsilon: p.layerNormEpsilon ?? 1e-5, innerSize: p.feedForwardLength)
            return try GPT2Model(configuration: c, weights: archive)
        default:
            throw ModelLoadError.unsupportedArchitecture(p.architecture)
        }
    }
}
