import ArgumentParser
import Foundation
import Tailor

/// Options shared by the commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A model folder (config.json + safetensors + tokenizer.json) or a .gguf file. Default: the cached default model.")
    var model: String?

    @Option(help: "An adapter folder: PEFT's format (LoRA, DoRA, IA3, prompt or prefix tuning — its peft_type decides).")
    var adapter: String?

    @Flag(help: "Keep GGUF weights in their quantized format (less memory).")
    var quantized = false

    @Option(help: "Quantize the dense linear layers on load: nf4, fp4 or int8 (bitsandbytes' formats; QLoRA's frozen base).")
    var quantize: WeightQuantization?

    /// The model location, checked to exist.
    func modelURL() throws -> URL {
        if let model {
            let url = URL(fileURLWithPath: model)
            guard FileManager.default.fileExists(atPath: url.path) else { throw CLIError("no model at \(model)") }
            return url
        }
        let url = DefaultModel.url
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CLIError("the default model is not downloaded yet: run Scripts/fetch-default-model.sh, or pass --model")
        }
        return url
    }

    /// Loads the model, its tokenizer, and the adapter if one was given. `frozen` names GGUF
    /// weights the caller never trains, kept in their stored format even without `--quantized`.
    func load(keeping frozen: QuantizedStorage = []) throws -> (model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        let url = try modelURL()
        if quantize != nil && quantized { throw CLIError("--quantize and --quantized exclude each other") }
        let model = try quantize.map { try LanguageModel.loadModel(from: url, quantize: $0) }
            ?? LanguageModel.loadModel(from: url, keeping: quantized ? .all : frozen)
        let tokenizer = try TokenizerLoader.load(from: url)
        if let adapter { try Adapters.load(from: URL(fileURLWithPath: adapter), into: model) }
        return (model, tokenizer)
    }
}

/// A one-line error for the user.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Sampling flags shared by `generate` and `chat`.
struct SamplingOptions: ParsableArguments {
    @Option(name: .long, help: "Maximum new tokens.") var maxTokens = 256
    @Option(help: "Temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Top-k (0 = off).") var topK = 0
    @Option(help: "Top-p nucleus mass.") var topP: Float = 1
    @Option(help: "Min-p relative probability floor.") var minP: Float = 0
    @Option(help: "Repetition penalty (1 = off).") var repetitionPenalty: Float = 1
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(help: "Stop string (repeatable).") var stop: [String] = []

    var config: GenerationConfig {
        var c = GenerationConfig(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, minP: minP,
                                 repetitionPenalty: repetitionPenalty)
        c.seed = seed
        c.stopStrings = stop
        return c
    }
}

extension WeightQuantization: ExpressibleByArgument {}
