import Foundation
import Tensor

/// Configuration of the Llama family — Llama 2/3, Mistral, Qwen2, SmolLM, DeepSeek-LLM — read from
/// Hugging Face `config.json` (keys as in transformers' `LlamaConfig`/`Qwen2Config`).
public struct LlamaConfiguration: Codable, Sendable, Equatable {
    /// `model_type`.
    public var modelType: String
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// Head width; `hidden_size / num_attention_heads` unless given.
    public var headDimension: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Float
    public var ropeScaling: RopeScaling?
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    /// Biases on q/k/v projections (always on for Qwen2, `attention_bias` for Llama).
    public var attentionBias: Bool
    /// Bias on the output projection (Llama's `attention_bias` covers o_proj too; Qwen2 has none).
    public var outputBias: Bool
    /// Biases on the MLP projections.
    public var mlpBias: Bool
    /// MLP activation (`silu`).
    public var hiddenActivation: String
    /// Sliding-window attention width (Mistral's `sliding_window`; Qwen2's only with
    /// `use_sliding_window`), or nil. Tailor attends to every earlier position, so the usable
    /// context is limited to the window, where both agree.
    public var slidingWindow: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabularySize = "vocab_size", hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size", layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads", kvHeadCount = "num_key_value_heads", headDimension = "head_dim"
        case rmsNormEpsilon = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case maxPositions = "max_position_embeddings", tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case hiddenActivation = "hidden_act", ropeParameters = "rope_parameters"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
    }

    /// transformers ≥ 5 writes `rope_parameters` (theta and scaling together) instead of
    /// `rope_theta` + `rope_scaling`.
    private struct RopeParameters: Decodable {
        var theta: Float?
        var scaling: RopeScaling
        enum Keys: String, CodingKey { case theta = "rope_theta" }
        init(from decoder: any Decoder) throws {
            theta = try decoder.container(keyedBy: Keys.self).decodeIfPresent(Float.self, forKey: .theta)
            scaling = try RopeScaling(from: decoder)
        }
    }

    /// A configuration from explicit values.
    public init(modelType: String = "llama", vocabularySize: Int, hiddenSize: Int, intermediateSize: Int,
                layerCount: Int, headCount: Int, kvHeadCount: Int? = nil, headDimension: Int? = nil,
                rmsNormEpsilon: Float = 1e-6, ropeTheta: Float = 10_000, ropeScaling: RopeScaling? = nil,
                maxPositions: Int = 2048, tieWordEmbeddings: Bool = false, attentionBias: Bool? = nil,
                mlpBias: Bool = false) {
        self.modelType = modelType
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount ?? headCount
        self.headDimension = headDimension ?? hiddenSize / max(1, headCount)
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.maxPositions = maxPositions
        self.tieWordEmbeddings = tieWordEmbeddings
        let qwen = modelType == "qwen2"
        self.attentionBias = attentionBias ?? qwen
        self.outputBias = qwen ? false : (attentionBias ?? false)
        self.mlpBias = mlpBias
        self.hiddenActivation = "silu"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "llama"
        let heads = try c.decode(Int.self, forKey: .headCount)
        let hidden = try c.decode(Int.self, forKey: .hiddenSize)
        let bias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias)
        let ropeParameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        let legacyScaling = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeScaling)
        let scaling = legacyScaling ?? ropeParameters.map(\.scaling)
        self.init(
            modelType: type,
            vocabularySize: try c.decode(Int.self, forKey: .vocabularySize),
            hiddenSize: hidden,
            intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
            layerCount: try c.decode(Int.self, forKey: .layerCount),
            headCount: heads,
            kvHeadCount: try c.decodeIfPresent(Int.self, forKey: .kvHeadCount),
            headDimension: try c.decodeIfPresent(Int.self, forKey: .headDimension),
            rmsNormEpsilon: try c.decodeIfPresent(Float.self, forKey: .rmsNormEpsilon) ?? 1e-6,
            ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? ropeParameters?.theta ?? 10_000,
            ropeScaling: scaling?.type == "default" ? nil : scaling,
            maxPositions: try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 2048,
            tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false,
            attentionBias: bias,
            mlpBias: try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false)
        if let act = try c.decodeIfPresent(String.self, forKey: .hiddenActivation) { hiddenActivation = act }
        if try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? true {
            slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        }
    }

    /// Writes Hugging Face `config.json` keys (the legacy `rope_theta`/`rope_scaling` form, which
    /// every transformers version reads).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(kvHeadCount, forKey: .kvHeadCount)
        try c.encode(headDimension, forKey: .headDimension)
        try c.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encodeIfPresent(ropeScaling, forKey: .ropeScaling)
        try c.encode(maxPositions, forKey: .maxPositions)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        if modelType != "qwen2" { try c.encode(attentionBias, forKey: .attentionBias) }
        try c.encode(mlpBias, forKey: .mlpBias)
        try c.encode(hiddenActivation, forKey: .hiddenActivation)
        try c.encodeIfPresent(slidingWindow, forKey: .slidingWindow)
    }

    /// Checks the values make a model that can be built.
    public func validate() throws {
        func fail(_ why: String) -> ModelLoadError { .invalidConfiguration(why) }
        guard vocabularySize > 0, hiddenSize > 0, intermediateSize > 0, layerCount > 0, headCount > 0, kvHeadCount > 0,
              headDimension > 0, maxPositions > 0 else { throw fail("sizes must be positive") }
        // Far above any real model, and low enough that no product of sizes overflows.
        let limit = ModelDescription.sizeLimit
        guard [vocabularySize, hiddenSize, intermediateSize, layerCount, headCount, kvHeadCount, headDimension, maxPositions]
            .allSatisfy({ $0 <= limit }) else { throw fail("sizes must be at most \(limit)") }
        // Real models use at most 256; the bound keeps the rotary table (positions × head width) in
        // the hundreds of MB whatever a file claims.
        guard headDimension <= 1024 else { throw fail("head dimension \(headDimension) is above 1024") }
        if let w = slidingWindow, w <= 0 { throw fail("sliding_window \(w) must be positive") }
        guard headCount % kvHeadCount == 0 else { throw fail("num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(kvHeadCount)") }
        guard headDimension % 2 == 0 else { throw fail("head dimension \(headDimension) must be even for rotary embeddings") }
        guard hiddenActivation == "silu" else { throw fail("unsupported hidden_act '\(hiddenActivation)'") }
        _ = try ropeScaling?.inverseFrequencies(dimension: headDimension, base: ropeTheta)
    }

    /// Architecture-independent facts.
    public var description: ModelDescription {
        ModelDescription(modelType: modelType, vocabularySize: vocabularySize, hiddenSize: hiddenSize,
                         layerCount: layerCount, headCount: headCount, kvHeadCount: kvHeadCount,
                         headDimension: headDimension, maxPositions: maxPositions)
    }
}

/// `rope_scaling` from config.json.
public struct RopeScaling: Codable, Sendable, Equatable {
    /// "default", "linear", "llama3", or "frequency_factors" (per-frequency divisors, as GGUF
    /// files carry them in `rope_freqs.weight`; a Tailor extension transformers does not read).
    public var type: String
    public var factor: Float?
    public var lowFrequencyFactor: Float?
    public var highFrequencyFactor: Float?
    public var originalMaxPositions: Int?
    /// For "frequency_factors": inverse frequency i is base^(−2i/D) / frequencyFactors[i].
    public var frequencyFactors: [Float]?

    enum CodingKeys: String, CodingKey {
        case type, ropeType = "rope_type", factor, lowFrequencyFactor = "low_freq_factor"
        case highFrequencyFactor = "high_freq_factor", originalMaxPositions = "original_max_position_embeddings"
        case frequencyFactors = "frequency_factors"
    }

    /// A scaling description.
    public init(type: String, factor: Float? = nil, lowFrequencyFactor: Float? = nil, highFrequencyFactor: Float? = nil,
                originalMaxPositions: Int? = nil, frequencyFactors: [Float]? = nil) {
        self.type = type
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalMaxPositions = originalMaxPositions
        self.frequencyFactors = frequencyFactors
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .ropeType) ?? c.decodeIfPresent(String.self, forKey: .type) ?? "default"
        factor = try c.decodeIfPresent(Float.self, forKey: .factor)
        lowFrequencyFactor = try c.decodeIfPresent(Float.self, forKey: .lowFrequencyFactor)
        highFrequencyFactor = try c.decodeIfPresent(Float.self, forKey: .highFrequencyFactor)
        originalMaxPositions = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositions)
        frequencyFactors = try c.decodeIfPresent([Float].self, forKey: .frequencyFactors)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .ropeType)
        try c.encodeIfPresent(factor, forKey: .factor)
        try c.encodeIfPresent(lowFrequencyFactor, forKey: .lowFrequencyFactor)
        try c.encodeIfPresent(highFrequencyFactor, forKey: .highFrequencyFactor)
        try c.encodeIfPresent(originalMaxPositions, forKey: .originalMaxPositions)
        try c.encodeIfPresent(frequencyFactors, forKey: .frequencyFactors)
    }

    /// Inverse frequencies after scaling, as transformers' `ROPE_INIT_FUNCTIONS` compute them.
    public func inverseFrequencies(dimension: Int, base: Float) throws -> [Float] {
        let plain = RopeScaling.defaultInverseFrequencies(dimension: dimension, base: base)
        switch type {
        case "default":
            return plain
        case "linear":
            guard let f = factor, f > 0 else { throw ModelLoadError.invalidConfiguration("linear rope_scaling needs a positive factor") }
            return plain.map { $0 / f }
        case "llama3":
            guard let f = factor, let lo = lowFrequencyFactor, let hi = highFrequencyFactor, let old = originalMaxPositions,
                  f > 0, hi > lo else { throw ModelLoadError.invalidConfiguration("llama3 rope_scaling needs factor, low/high_freq_factor, original_max_position_embeddings") }
            let lowWavelength = Float(old) / lo, highWavelength = Float(old) / hi
            return plain.map { freq in
                let wavelength = 2 * Float.pi / freq
                if wavelength < highWavelength { return freq }
                if wavelength > lowWavelength { return freq / f }
                let smooth = (Float(old) / wavelength - lo) / (hi - lo)
                return (1 - smooth) * freq / f + smooth * freq
            }
        case "frequency_factors":
            guard let factors = frequencyFactors, factors.count == plain.count, factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelLoadError.invalidConfiguration("frequency_factors rope scaling needs \(plain.count) positive factors")
            }
            return zip(plain, factors).map { $0 / $1 }
        default:
            throw ModelLoadError.invalidConfiguration("unsupported rope_scaling type '\(type)' (supported: linear, llama3)")
        }
    }

    /// base^(−2i/D) in Float32, as PyTorch computes it.
    static func defaultInverseFrequencies(dimension: Int, base: Float) -> [Float] {
        (0..<(dimension / 2)).map { i in 1 / powf(base, Float(2 * i) / Float(dimension)) }
    }
}
