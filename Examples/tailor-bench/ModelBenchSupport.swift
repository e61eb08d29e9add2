import Foundation
import Tailor

/// Where the default model lives and how to load benchmark models.
enum BenchModels {
    /// The cached default model (Scripts/fetch-default-model.sh).
    static var defaultModelURL: URL { DefaultModel.url }

    /// Loads `spec`: "default" (the Qwen GGUF), "gpt2-124m" (random GPT-2-124M shape),
    /// "llama-135m" (random SmolLM-135M shape) or a path; `quantize` quantizes a file's linear
    /// layers on load (bitsandbytes' formats).
    static func load(_ spec: String, keepQuantized: Bool = false, keeping frozen: QuantizedStorage = [],
                     quantize: WeightQuantization? = nil) throws -> (model: any CausalLanguageModel, name: String) {
        let storage: QuantizedStorage = keepQuantized ? .all : frozen
        if let quantize, spec != "gpt2-124m", spec != "llama-135m" {
            let url = spec == "default" ? defaultModelURL : URL(fileURLWithPath: spec)
            return (try LanguageModel.loadModel(from: url, quantize: quantize),
                    (spec == "default" ? "qwen2.5-coder-0.5b" : url.lastPathComponent) + "-" + quantize.rawValue)
        }
        switch spec {
        case "default":
            return (try LanguageModel.loadModel(from: defaultModelURL, keeping: storage),
                    keepQuantized ? "qwen2.5-coder-0.5b-q" : "qwen2.5-coder-0.5b")
        case "gpt2-124m":
            let c = GPT2Configuration(vocabularySize: 50_257, hiddenSize: 768, layerCount: 12, headCount: 12, maxPositions: 1024)
            return (try GPT2Model(configuration: c, seed: 1), "gpt2-124m-random")
        case "llama-135m":
            let c = LlamaConfiguration(vocabularySize: 49_152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30,
                                       headCount: 9, kvHeadCount: 3, maxPositions: 2048, tieWordEmbeddings: true)
            return (try LlamaModel(configuration: c, seed: 1), "llama-135m-random")
        default:
            return (try LanguageModel.loadModel(from: URL(fileURLWithPath: spec), keeping: storage),
                    URL(fileURLWithPath: spec).lastPathComponent)
        }
    }

    /// Random token ids below `vocabulary`.
    static func randomTokens(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in Int(rng.next() % UInt64(min(vocabulary, 32_000))) }
    }
}
