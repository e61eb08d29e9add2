import Foundation

/// One model architecture as the loader, the exporter and adapter targeting see it: which names
/// select it, how it is built from a configuration and weights, and how it is written back out.
public protocol Architecture: Sendable {
    /// `model_type` and `architectures` values of `config.json` that select it.
    var configurationNames: [String] { get }
    /// `general.architecture` values of GGUF files that select it.
    var ggufNames: [String] { get }
    /// Module path suffixes whose Hugging Face weights are `Conv1D` ([In, Out]).
    var conv1DSuffixes: [String] { get }
    /// Builds the model from a folder's `config.json` and its weights.
    func build(configuration: Data, path: String, weights: any WeightArchive) throws -> any CausalLanguageModel
    /// Builds the model from a GGUF file, keeping the block-quantized weights `storage` names.
    func build(gguf archive: GGUFWeightArchive, keeping storage: QuantizedStorage) throws -> any CausalLanguageModel
    /// `config.json` contents for `model`, or nil when it is not of this architecture.
    func exportConfiguration(of model: any CausalLanguageModel) throws -> [String: Any]?
}

/// The architectures Tailor can load, build and export.
public enum ArchitectureRegistry {
    /// Every registered architecture.
    public static let all: [any Architecture] = [LlamaArchitecture(), GPT2Architecture()]

    /// The architecture `config.json` names.
    public static func forConfiguration(_ name: String) throws -> any Architecture {
        guard let a = all.first(where: { $0.configurationNames.contains(name) }) else { throw ModelLoadError.unsupportedArchitecture(name) }
        return a
    }

    /// The architecture a GGUF file names.
    public static func forGGUF(_ name: String) throws -> any Architecture {
        guard let a = all.first(where: { $0.ggufNames.contains(name) }) else { throw ModelLoadError.unsupportedArchitecture(name) }
        return a
    }

    /// The architecture that exports `model`, with its `config.json` contents.
    public static func exportConfiguration(of model: any CausalLanguageModel) throws -> (any Architecture, [String: Any]) {
        for a in all { if let c = try a.exportConfiguration(of: model) { return (a, c) } }
        throw ModelLoadError.unsupportedArchitecture("\(type(of: model))")
    }
}

/// Decodes a `config.json` as `T`, naming the file on failure.
func decodeConfiguration<T: Decodable>(_: T.Type, _ data: Data, path: String) throws -> T {
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw ModelLoadError.malformedFile(path: path, reason: "\(error)")
    }
}

/// The Llama family: Llama 2/3, Mistral, Qwen2 and the models built like them.
struct LlamaArchitecture: Architecture {
    let configurationNames = ["llama", "mistral", "qwen2", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"]
    let ggufNames = ["llama", "qwen2", "mistral"]
    let conv1DSuffixes: [String] = []

    func build(configuration: Data, path: String, weights: any WeightArchive) throws -> any CausalLanguageModel {
        try LlamaModel(configuration: decodeConfiguration(LlamaConfiguration.self, configuration, path: path), weights: weights)
    }

    func build(gguf archive: GGUFWeightArchive, keeping storage: QuantizedStorage) throws -> any CausalLanguageModel {
        let p = archive.parameters
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
        return try LlamaModel(configuration: c, weights: archive, keeping: storage)
    }

    func exportConfiguration(of model: any CausalLanguageModel) throws -> [String: Any]? {
        guard let llama = model as? LlamaModel else { return nil }
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(llama.configuration)) as? [String: Any] ?? [:]
        let names = ["llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"]
        object["architectures"] = [names[llama.configuration.modelType] ?? "LlamaForCausalLM"]
        object["tie_word_embeddings"] = llama.lmHead == nil
        return object
    }
}

/// GPT-2.
struct GPT2Architecture: Architecture {
    let configurationNames = ["gpt2", "GPT2LMHeadModel"]
    let ggufNames = ["gpt2"]
    var conv1DSuffixes: [String] { GPT2Model.conv1DSuffixes }

    func build(configuration: Data, path: String, weights: any WeightArchive) throws -> any CausalLanguageModel {
        try GPT2Model(configuration: decodeConfiguration(GPT2Configuration.self, configuration, path: path), weights: weights)
    }

    /// GPT-2 GGUF weights are always expanded (their Conv1D layout is converted on load).
    func build(gguf archive: GGUFWeightArchive, keeping storage: QuantizedStorage) throws -> any CausalLanguageModel {
        let p = archive.parameters
        let c = GPT2Configuration(vocabularySize: p.vocabularySize, hiddenSize: p.embeddingLength, layerCount: p.blockCount,
                                  headCount: p.headCount, maxPositions: p.contextLength,
                                  layerNormEpsilon: p.layerNormEpsilon ?? 1e-5, innerSize: p.feedForwardLength)
        return try GPT2Model(configuration: c, weights: archive)
    }

    func exportConfiguration(of model: any CausalLanguageModel) throws -> [String: Any]? {
        guard let gpt2 = model as? GPT2Model else { return nil }
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(gpt2.configuration)) as? [String: Any] ?? [:]
        object["model_type"] = "gpt2"
        object["architectures"] = ["GPT2LMHeadModel"]
        return object
    }
}
