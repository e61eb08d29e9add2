import Generate

/// The part of a record a paraphrase rewrites.
public enum AugmentedField: String, Sendable, Codable, Hashable, CaseIterable {
    /// The alpaca instruction, the last user message of a chat, or a completion's prompt.
    case instruction
    /// The alpaca input (records without one are skipped for this field).
    case input
}

/// How ``Augmenter`` asks for paraphrases and which it keeps. `Codable` with every key optional.
public struct AugmentationOptions: Sendable, Codable, Equatable {
    /// Paraphrases requested per record and field.
    public var paraphrasesPerField: Int
    /// The fields to rewrite.
    public var fields: [AugmentedField]
    /// Sampling settings for each request; its seed is replaced by one derived from ``seed``, the
    /// record, the field and the paraphrase number, so every request is reproducible on its own.
    public var sampling: GenerationConfig
    /// Seed of the whole run.
    public var seed: UInt64
    /// A paraphrase must have at least this share of the original's characters…
    public var minimumLengthRatio: Double
    /// …and at most this share.
    public var maximumLengthRatio: Double
    /// Paraphrases equal to the original or to one already kept under this rule are dropped
    /// (``Deduplication/none`` still drops exact copies of the original).
    public var deduplication: Deduplication
    /// Cleaning applied to every generated text before it is checked.
    public var cleaning: CleaningOptions
    /// What the model is asked; the text to rewrite follows it after a blank line.
    public var request: String

    /// Options; every parameter has a default.
    public init(paraphrasesPerField: Int = 2, fields: [AugmentedField] = [.instruction, .input],
                sampling: GenerationConfig = GenerationConfig(maxNewTokens: 128, temperature: 0.8, topK: 50, topP: 0.95),
                seed: UInt64 = 0, minimumLengthRatio: Double = 0.5, maximumLengthRatio: Double = 2,
                deduplication: Deduplication = .normalized, cleaning: CleaningOptions = CleaningOptions(),
                request: String = AugmentationOptions.defaultRequest) {
        self.paraphrasesPerField = paraphrasesPerField
        self.fields = fields
        self.sampling = sampling
        self.seed = seed
        self.minimumLengthRatio = minimumLengthRatio
        self.maximumLengthRatio = maximumLengthRatio
        self.deduplication = deduplication
        self.cleaning = cleaning
        self.request = request
    }

    /// The default request.
    public static let defaultRequest = """
        Rewrite the following text in other words. Keep its meaning and every name, number and code \
        exactly. Reply with the rewritten text only.
        """

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AugmentationOptions()
        paraphrasesPerField = try c.decodeIfPresent(Int.self, forKey: .paraphrasesPerField) ?? d.paraphrasesPerField
        fields = try c.decodeIfPresent([AugmentedField].self, forKey: .fields) ?? d.fields
        sampling = try c.decodeIfPresent(GenerationConfig.self, forKey: .sampling) ?? d.sampling
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        minimumLengthRatio = try c.decodeIfPresent(Double.self, forKey: .minimumLengthRatio) ?? d.minimumLengthRatio
        maximumLengthRatio = try c.decodeIfPresent(Double.self, forKey: .maximumLengthRatio) ?? d.maximumLengthRatio
        deduplication = try c.decodeIfPresent(Deduplication.self, forKey: .deduplication) ?? d.deduplication
        cleaning = try c.decodeIfPresent(CleaningOptions.self, forKey: .cleaning) ?? d.cleaning
        request = try c.decodeIfPresent(String.self, forKey: .request) ?? d.request
    }

    /// Throws ``DataError/invalidConfiguration(_:)`` for out-of-range settings (and the sampling
    /// configuration's own errors).
    public func validate() throws {
        guard paraphrasesPerField >= 1 else {
            throw DataError.invalidConfiguration("paraphrasesPerField must be at least 1 (got \(paraphrasesPerField))")
        }
        guard !fields.isEmpty else { throw DataError.invalidConfiguration("fields must name at least one field") }
        guard minimumLengthRatio.isFinite, maximumLengthRatio.isFinite, minimumLengthRatio >= 0,
              minimumLengthRatio <= maximumLengthRatio else {
            throw DataError.invalidConfiguration("length ratios must satisfy 0 ≤ minimum ≤ maximum (got \(minimumLengthRatio)…\(maximumLengthRatio))")
        }
        try sampling.validate()
    }
}
