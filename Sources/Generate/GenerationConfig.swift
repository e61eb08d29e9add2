/// Settings for one text generation: length, sampling and stopping.
///
/// Sampling follows Hugging Face transformers' `generate(do_sample=True)`: the logits pass through the
/// repetition penalty, then the frequency/presence penalties, then temperature, top-k, top-p and min-p,
/// in that order, and a token is drawn from what remains. `temperature == 0` selects greedy decoding
/// (argmax of the penalised logits; filters are irrelevant). Every decodable field is optional in JSON
/// and falls back to the default documented on it.
public struct GenerationConfig: Sendable, Codable, Equatable {
    /// Maximum number of tokens to generate (default 256). Generation ends with `.length` when reached.
    public var maxNewTokens: Int
    /// Softmax temperature (default 1.0). 0 means greedy decoding; values above 1 flatten the distribution.
    public var temperature: Float
    /// Keep only the `topK` highest logits (ties with the k-th are kept, as in transformers); 0 disables
    /// (default 50, transformers' default).
    public var topK: Int
    /// Nucleus sampling: keep the smallest set of most probable tokens whose probability sums to at least
    /// `topP`; 1 disables (default 1.0). The most probable token is always kept.
    public var topP: Float
    /// Keep tokens whose probability is at least `minP` times that of the most probable token; 0 disables
    /// (default 0).
    public var minP: Float
    /// CTRL / transformers repetition penalty over every token seen (prompt and generated): a positive logit is
    /// divided by it, a negative one multiplied; applied once per distinct token. 1 disables (default 1.0).
    public var repetitionPenalty: Float
    /// OpenAI frequency penalty: subtracts `frequencyPenalty × count` from the logit of each token generated
    /// `count` times so far (prompt excluded). Default 0.
    public var frequencyPenalty: Float
    /// OpenAI presence penalty: subtracts `presencePenalty` from the logit of each token generated at least
    /// once (prompt excluded). Default 0.
    public var presencePenalty: Float
    /// Random seed; the same seed, prompt and model give the same tokens. `nil` (default) seeds from the system.
    public var seed: UInt64?
    /// Generation stops when the text contains one of these; the stop string itself is not emitted.
    /// Empty strings are ignored. Default none.
    public var stopStrings: [String]
    /// Generation stops when one of these token ids is sampled (it is not emitted). Default none.
    public var stopTokenIDs: [Int]
    /// Whether sampling the tokenizer's end-of-sequence token ends generation (default true).
    public var stopOnEOS: Bool

    /// Creates a configuration; every argument defaults to the value documented on its property.
    public init(
        maxNewTokens: Int = 256,
        temperature: Float = 1.0,
        topK: Int = 50,
        topP: Float = 1.0,
        minP: Float = 0,
        repetitionPenalty: Float = 1.0,
        frequencyPenalty: Float = 0,
        presencePenalty: Float = 0,
        seed: UInt64? = nil,
        stopStrings: [String] = [],
        stopTokenIDs: [Int] = [],
        stopOnEOS: Bool = true
    ) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.seed = seed
        self.stopStrings = stopStrings
        self.stopTokenIDs = stopTokenIDs
        self.stopOnEOS = stopOnEOS
    }

    /// Greedy decoding (temperature 0) with the other defaults.
    public static var greedy: GenerationConfig { GenerationConfig(temperature: 0) }

    /// Whether this configuration decodes greedily instead of sampling.
    public var isGreedy: Bool { temperature == 0 }

    /// Checks every field's range, throwing `GenerationError.invalidConfig` for the first bad one.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> GenerationError {
            .invalidConfig(field: field, reason: reason)
        }
        guard maxNewTokens >= 0 else { throw fail("maxNewTokens", "must be ≥ 0, got \(maxNewTokens)") }
        guard temperature.isFinite, temperature >= 0 else {
            throw fail("temperature", "must be a finite value ≥ 0, got \(temperature)")
        }
        guard topK >= 0 else { throw fail("topK", "must be ≥ 0 (0 disables), got \(topK)") }
        guard topP > 0, topP <= 1 else { throw fail("topP", "must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP <= 1 else { throw fail("minP", "must be in [0, 1], got \(minP)") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw fail("repetitionPenalty", "must be a finite value > 0, got \(repetitionPenalty)")
        }
        guard frequencyPenalty.isFinite else { throw fail("frequencyPenalty", "must be finite") }
        guard presencePenalty.isFinite else { throw fail("presencePenalty", "must be finite") }
    }

    private enum CodingKeys: String, CodingKey {
        case maxNewTokens, temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty
        case seed, stopStrings, stopTokenIDs, stopOnEOS
    }

    /// Decodes a configuration; absent keys take their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GenerationConfig()
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? d.maxNewTokens
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? d.topK
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? d.topP
        minP = try c.decodeIfPresent(Float.self, forKey: .minP) ?? d.minP
        repetitionPenalty = try c.decodeIfPresent(Float.self, forKey: .repetitionPenalty) ?? d.repetitionPenalty
        frequencyPenalty = try c.decodeIfPresent(Float.self, forKey: .frequencyPenalty) ?? d.frequencyPenalty
        presencePenalty = try c.decodeIfPresent(Float.self, forKey: .presencePenalty) ?? d.presencePenalty
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        stopStrings = try c.decodeIfPresent([String].self, forKey: .stopStrings) ?? d.stopStrings
        stopTokenIDs = try c.decodeIfPresent([Int].self, forKey: .stopTokenIDs) ?? d.stopTokenIDs
        stopOnEOS = try c.decodeIfPresent(Bool.self, forKey: .stopOnEOS) ?? d.stopOnEOS
    }
}
