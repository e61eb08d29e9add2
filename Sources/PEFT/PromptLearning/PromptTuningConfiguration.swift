import Foundation
import Model
import Tensor

/// How prompt tuning's virtual token embeddings start (PEFT's `prompt_tuning_init`).
public enum PromptTuningInitialization: String, Sendable, Codable, Equatable {
    /// Standard normal values.
    case random = "RANDOM"
    /// Embeddings of tokens drawn at random from the vocabulary.
    case sampleVocabulary = "SAMPLE_VOCAB"
    /// Embeddings of `prompt_tuning_init_text`'s tokens, truncated or repeated to the length.
    case text = "TEXT"
}

/// A prompt-tuning adapter's settings — PEFT's `PromptTuningConfig`: `num_virtual_tokens` learned
/// input embeddings put before every sequence; the model's weights stay frozen.
public struct PromptTuningConfiguration: AdapterMethod, Equatable {
    public static let peftType = "PROMPT_TUNING"

    /// Number of virtual tokens P.
    public var virtualTokenCount: Int
    /// How the embeddings start.
    public var initialization: PromptTuningInitialization
    /// The text whose tokens start the embeddings, with `.text`.
    public var initializationText: String?
    /// Token ids of `initializationText` (not saved): set with ``tokenizingInitializationText(with:)``.
    public var initializationTokenIDs: [Int]?
    /// Tokenizer named in the file (informational).
    public var tokenizerNameOrPath: String?
    /// Base model the adapter was trained on.
    public var baseModelNameOrPath: String?
    /// PEFT's `task_type`.
    public var taskType: String
    /// PEFT's `inference_mode`.
    public var inferenceMode: Bool
    /// Embedding width (filled from the model when installed).
    public var tokenDimension: Int?
    /// Layer count (filled from the model when installed).
    public var layerCount: Int?
    /// Attention heads (filled from the model when installed).
    public var attentionHeadCount: Int?

    /// A configuration.
    public init(virtualTokenCount: Int = 20, initialization: PromptTuningInitialization = .random, initializationText: String? = nil) {
        self.virtualTokenCount = virtualTokenCount
        self.initialization = initialization
        self.initializationText = initializationText
        self.initializationTokenIDs = nil
        self.tokenizerNameOrPath = nil
        self.baseModelNameOrPath = nil
        self.taskType = "CAUSAL_LM"
        self.inferenceMode = false
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", virtualTokenCount = "num_virtual_tokens", initialization = "prompt_tuning_init"
        case initializationText = "prompt_tuning_init_text", tokenizerNameOrPath = "tokenizer_name_or_path"
        case baseModelNameOrPath = "base_model_name_or_path", taskType = "task_type", inferenceMode = "inference_mode"
        case tokenDimension = "token_dim", layerCount = "num_layers", attentionHeadCount = "num_attention_heads"
        case transformerSubmodules = "num_transformer_submodules"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .peftType) ?? Self.peftType
        guard type == Self.peftType else { throw AdapterError.unsupported("peft_type '\(type)' in a prompt-tuning configuration") }
        self.init(virtualTokenCount: try c.decodeIfPresent(Int.self, forKey: .virtualTokenCount) ?? 20,
                  initialization: try c.decodeIfPresent(PromptTuningInitialization.self, forKey: .initialization) ?? .random,
                  initializationText: try c.decodeIfPresent(String.self, forKey: .initializationText))
        tokenizerNameOrPath = try c.decodeIfPresent(String.self, forKey: .tokenizerNameOrPath)
        baseModelNameOrPath = try c.decodeIfPresent(String.self, forKey: .baseModelNameOrPath)
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType) ?? "CAUSAL_LM"
        inferenceMode = try c.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? false
        tokenDimension = try c.decodeIfPresent(Int.self, forKey: .tokenDimension)
        layerCount = try c.decodeIfPresent(Int.self, forKey: .layerCount)
        attentionHeadCount = try c.decodeIfPresent(Int.self, forKey: .attentionHeadCount)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.peftType, forKey: .peftType)
        try c.encode(virtualTokenCount, forKey: .virtualTokenCount)
        try c.encode(initialization, forKey: .initialization)
        try c.encode(initializationText, forKey: .initializationText)
        try c.encode(tokenizerNameOrPath, forKey: .tokenizerNameOrPath)
        try c.encode(baseModelNameOrPath, forKey: .baseModelNameOrPath)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(inferenceMode, forKey: .inferenceMode)
        try c.encode(tokenDimension, forKey: .tokenDimension)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try c.encode(1, forKey: .transformerSubmodules)
    }

    /// This configuration with `initializationText` tokenized (no special tokens), for `.text`.
    public func tokenizingInitializationText(with tokenizer: any Tokenizer) -> Self {
        var copy = self
        if let text = initializationText { copy.initializationTokenIDs = tokenizer.encode(text, addSpecialTokens: false) }
        return copy
    }

    public func validate() throws {
        guard virtualTokenCount > 0 else { throw AdapterError.invalidConfiguration("num_virtual_tokens must be positive, got \(virtualTokenCount)") }
        if initialization == .text && initializationText == nil && initializationTokenIDs == nil {
            throw AdapterError.invalidConfiguration("prompt_tuning_init TEXT needs prompt_tuning_init_text")
        }
    }

    /// The model's token embedding table [V, C].
    private func embeddingTable(of model: any CausalLanguageModel) throws -> Tensor {
        guard let embedding = model.namedModules().first(where: { $0.module is any EmbeddingLayer })?.module as? any EmbeddingLayer else {
            throw AdapterError.unsupported("prompt tuning on a model without a token embedding")
        }
        let ids = (0..<embedding.count).map(Int32.init)
        return GradientMode.withoutGradients { embedding(ids, shape: [embedding.count]) }
    }

    public func install(into model: any CausalLanguageModel, name: String, seed: UInt64) throws -> [String] {
        let c = model.description.hiddenSize, p = virtualTokenCount
        var rng = SeededRandom(seed: seed)
        let start: Tensor
        switch initialization {
        case .random:
            start = Tensor.normal([p, c], std: 1, using: &rng)
        case .sampleVocabulary:
            let v = model.description.vocabularySize
            start = try rows(of: embeddingTable(of: model), (0..<p).map { _ in Int(rng.next() % UInt64(v)) })
        case .text:
            guard let ids = initializationTokenIDs, !ids.isEmpty else {
                throw AdapterError.invalidConfiguration("prompt_tuning_init TEXT: tokenize prompt_tuning_init_text first (tokenizingInitializationText(with:)) — it must give at least one token")
            }
            let v = model.description.vocabularySize
            guard ids.allSatisfy({ $0 >= 0 && $0 < v }) else { throw AdapterError.invalidConfiguration("initialisation token id outside the vocabulary") }
            let repeated = (0..<p).map { ids[$0 % ids.count] }
            start = try rows(of: embeddingTable(of: model), repeated)
        }
        try model.promptEncoder().setAdapter(name, .init(length: p, content: .embeddings(Parameter(start)), configuration: filled(for: model)))
        return ["prompt_encoder"]
    }

    public func install(into model: any CausalLanguageModel, name: String, weights: [String: Tensor]) throws -> [String] {
        guard weights.count == 1, let table = weights["prompt_embeddings"] else {
            throw AdapterError.incompatibleAdapter("a prompt-tuning file holds exactly one tensor, prompt_embeddings; found \(weights.keys.sorted())")
        }
        let expected = [virtualTokenCount, model.description.hiddenSize]
        guard table.shape == expected else {
            throw AdapterError.incompatibleAdapter("'prompt_embeddings' has shape \(table.shape), expected \(expected)")
        }
        try model.promptEncoder().setAdapter(name, .init(length: virtualTokenCount, content: .embeddings(Parameter(table)), configuration: filled(for: model)))
        return ["prompt_encoder"]
    }

    public func weights(of name: String, in model: any CausalLanguageModel) throws -> [String: Tensor] {
        guard let table = (model.sequencePrefix as? PromptEncoder)?.savedTable(of: name) else {
            throw AdapterError.adapterName("no prompt-tuning adapter named '\(name)'")
        }
        return ["prompt_embeddings": table]
    }

    /// The configuration with the model's sizes filled in, as PEFT saves it.
    private func filled(for model: any CausalLanguageModel) -> Self {
        var c = self
        c.tokenDimension = model.description.hiddenSize
        c.layerCount = model.description.layerCount
        c.attentionHeadCount = model.description.headCount
        return c
    }

    private func rows(of table: Tensor, _ ids: [Int]) throws -> Tensor {
        Tensor.embedding(table, ids: ids.map(Int32.init), shape: [ids.count]).detached
    }
}
