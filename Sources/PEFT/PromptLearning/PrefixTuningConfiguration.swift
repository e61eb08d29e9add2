import Foundation
import Model
import Tensor

/// A prefix-tuning adapter's settings — PEFT's `PrefixTuningConfig`: `num_virtual_tokens` learned
/// keys and values put before the tokens' own in every attention layer. With `prefix_projection`
/// they are produced during training by a two-layer MLP from a smaller embedding; the saved file
/// holds the resulting table, as PEFT saves it.
public struct PrefixTuningConfiguration: AdapterMethod, Equatable {
    public static let peftType = "PREFIX_TUNING"

    /// Number of virtual tokens P.
    public var virtualTokenCount: Int
    /// Reparametrise through an MLP (G·D → hidden → tanh → L·2·G·D) while training.
    public var prefixProjection: Bool
    /// The MLP's hidden width (nil: the key/value width G·D, as PEFT).
    public var encoderHiddenSize: Int?
    /// Base model the adapter was trained on.
    public var baseModelNameOrPath: String?
    /// PEFT's `task_type`.
    public var taskType: String
    /// PEFT's `inference_mode`.
    public var inferenceMode: Bool
    /// Key/value width G·D (filled from the model when installed).
    public var tokenDimension: Int?
    /// Layer count (filled from the model when installed).
    public var layerCount: Int?
    /// Key/value heads (filled from the model when installed).
    public var attentionHeadCount: Int?

    /// A configuration.
    public init(virtualTokenCount: Int = 20, prefixProjection: Bool = false, encoderHiddenSize: Int? = nil) {
        self.virtualTokenCount = virtualTokenCount
        self.prefixProjection = prefixProjection
        self.encoderHiddenSize = encoderHiddenSize
        self.baseModelNameOrPath = nil
        self.taskType = "CAUSAL_LM"
        self.inferenceMode = false
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", virtualTokenCount = "num_virtual_tokens", prefixProjection = "prefix_projection"
        case encoderHiddenSize = "encoder_hidden_size", baseModelNameOrPath = "base_model_name_or_path"
        case taskType = "task_type", inferenceMode = "inference_mode", tokenDimension = "token_dim"
        case layerCount = "num_layers", attentionHeadCount = "num_attention_heads", transformerSubmodules = "num_transformer_submodules"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .peftType) ?? Self.peftType
        guard type == Self.peftType else { throw AdapterError.unsupported("peft_type '\(type)' in a prefix-tuning configuration") }
        self.init(virtualTokenCount: try c.decodeIfPresent(Int.self, forKey: .virtualTokenCount) ?? 20,
                  prefixProjection: try c.decodeIfPresent(Bool.self, forKey: .prefixProjection) ?? false,
                  encoderHiddenSize: try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize))
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
        try c.encode(prefixProjection, forKey: .prefixProjection)
        try c.encode(encoderHiddenSize, forKey: .encoderHiddenSize)
        try c.encode(baseModelNameOrPath, forKey: .baseModelNameOrPath)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(inferenceMode, forKey: .inferenceMode)
        try c.encode(tokenDimension, forKey: .tokenDimension)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try c.encode(1, forKey: .transformerSubmodules)
    }

    public func validate() throws {
        guard virtualTokenCount > 0 else { throw AdapterError.invalidConfiguration("num_virtual_tokens must be positive, got \(virtualTokenCount)") }
        if let h = encoderHiddenSize, h <= 0 { throw AdapterError.invalidConfiguration("encoder_hidden_size must be positive, got \(h)") }
    }

    /// Width of one row of the key/value table: L·2·G·D.
    private func tableWidth(_ d: ModelDescription) -> Int { d.layerCount * 2 * d.kvHeadCount * d.headDimension }

    public func install(into model: any CausalLanguageModel, name: String, seed: UInt64) throws -> [String] {
        let d = model.description, p = virtualTokenCount
        var rng = SeededRandom(seed: seed)
        let content: PromptEncoder.Content
        if prefixProjection {
            let kv = d.kvHeadCount * d.headDimension
            let hidden = encoderHiddenSize ?? kv
            // PEFT's token_dim is the key/value width G·D under grouped-query attention.
            let embedding = Parameter(Tensor.normal([p, kv], std: 1, using: &rng))
            content = .projected(embedding: embedding, hidden: Linear(inFeatures: kv, outFeatures: hidden, rng: &rng),
                                 output: Linear(inFeatures: hidden, outFeatures: tableWidth(d), rng: &rng))
        } else {
            content = .keyValueTable(Parameter(Tensor.normal([p, tableWidth(d)], std: 1, using: &rng)))
        }
        try model.promptEncoder().setAdapter(name, .init(length: p, content: content, configuration: filled(for: model)))
        return ["prompt_encoder"]
    }

    public func install(into model: any CausalLanguageModel, name: String, weights: [String: Tensor]) throws -> [String] {
        guard weights.count == 1, let table = weights["prompt_embeddings"] else {
            throw AdapterError.incompatibleAdapter("a prefix-tuning file holds exactly one tensor, prompt_embeddings; found \(weights.keys.sorted())")
        }
        let expected = [virtualTokenCount, tableWidth(model.description)]
        guard table.shape == expected else {
            throw AdapterError.incompatibleAdapter("'prompt_embeddings' has shape \(table.shape), expected \(expected) (\(model.description.layerCount) layers × 2 × \(model.description.kvHeadCount) kv heads × \(model.description.headDimension))")
        }
        try model.promptEncoder().setAdapter(name, .init(length: virtualTokenCount, content: .keyValueTable(Parameter(table)),
                                                       configuration: filled(for: model)))
        return ["prompt_encoder"]
    }

    public func weights(of name: String, in model: any CausalLanguageModel) throws -> [String: Tensor] {
        guard let table = (model.sequencePrefix as? PromptEncoder)?.savedTable(of: name) else {
            throw AdapterError.adapterName("no prefix-tuning adapter named '\(name)'")
        }
        return ["prompt_embeddings": table]
    }

    /// The configuration with the model's sizes filled in, as PEFT saves it (G·D and G for
    /// grouped-query attention).
    private func filled(for model: any CausalLanguageModel) -> Self {
        var c = self
        let d = model.description
        c.tokenDimension = d.kvHeadCount * d.headDimension
        c.layerCount = d.layerCount
        c.attentionHeadCount = d.kvHeadCount
        if c.encoderHiddenSize == nil { c.encoderHiddenSize = d.kvHeadCount * d.headDimension }
        return c
    }
}
