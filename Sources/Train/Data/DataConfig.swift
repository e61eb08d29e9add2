import Model

/// Everything that controls how a dataset becomes training examples. `Codable` with every key
/// optional (missing keys take the defaults), so it can live in a JSON config file.
public struct DataConfig: Sendable, Codable, Hashable {
    /// The JSONL layout; `nil` detects it from the file.
    public var format: DataFormat?
    /// The prompt template; `nil` detects it from the tokenizer's chat template, falling back
    /// to ``ChatTemplate/alpaca``.
    public var template: ChatTemplate?
    /// A system message for conversations that have none (`nil`: the template's default).
    public var systemPrompt: String?
    /// Text cleaning.
    public var cleaning: CleaningOptions
    /// Duplicate removal.
    public var deduplication: Deduplication
    /// Drop examples with fewer tokens than this.
    public var minTokens: Int
    /// Drop examples with more tokens than this (`nil`: keep and truncate instead).
    public var maxTokens: Int?
    /// Longest example (and packed row) in tokens; longer examples are truncated.
    public var maxSequenceLength: Int
    /// Which end truncation cuts.
    public var truncation: TruncationSide
    /// Compute the loss on prompt tokens too, not only on responses.
    public var trainOnPrompt: Bool
    /// End every example with the tokenizer's EOS so the model learns to stop.
    public var appendEOS: Bool
    /// Share of examples held out for validation.
    public var validationFraction: Double
    /// Seed for the split and for batch shuffling.
    public var seed: UInt64
    /// How examples are grouped into batches.
    public var batching: BatchingOptions

    /// Creates a configuration; every parameter has a default.
    public init(format: DataFormat? = nil, template: ChatTemplate? = nil, systemPrompt: String? = nil,
                cleaning: CleaningOptions = CleaningOptions(), deduplication: Deduplication = .exact,
                minTokens: Int = 1, maxTokens: Int? = nil, maxSequenceLength: Int = 1024,
                truncation: TruncationSide = .right, trainOnPrompt: Bool = false, appendEOS: Bool = true,
                validationFraction: Double = 0.1, seed: UInt64 = 42, batching: BatchingOptions = BatchingOptions()) {
        self.format = format
        self.template = template
        self.systemPrompt = systemPrompt
        self.cleaning = cleaning
        self.deduplication = deduplication
        self.minTokens = minTokens
        self.maxTokens = maxTokens
        self.maxSequenceLength = maxSequenceLength
        self.truncation = truncation
        self.trainOnPrompt = trainOnPrompt
        self.appendEOS = appendEOS
        self.validationFraction = validationFraction
        self.seed = seed
        self.batching = batching
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DataConfig()
        format = try c.decodeIfPresent(DataFormat.self, forKey: .format)
        template = try c.decodeIfPresent(ChatTemplate.self, forKey: .template)
        systemPrompt = try c.decodeIfPresent(String.self, forKey: .systemPrompt)
        cleaning = try c.decodeIfPresent(CleaningOptions.self, forKey: .cleaning) ?? d.cleaning
        deduplication = try c.decodeIfPresent(Deduplication.self, forKey: .deduplication) ?? d.deduplication
        minTokens = try c.decodeIfPresent(Int.self, forKey: .minTokens) ?? d.minTokens
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxSequenceLength = try c.decodeIfPresent(Int.self, forKey: .maxSequenceLength) ?? d.maxSequenceLength
        truncation = try c.decodeIfPresent(TruncationSide.self, forKey: .truncation) ?? d.truncation
        trainOnPrompt = try c.decodeIfPresent(Bool.self, forKey: .trainOnPrompt) ?? d.trainOnPrompt
        appendEOS = try c.decodeIfPresent(Bool.self, forKey: .appendEOS) ?? d.appendEOS
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? d.validationFraction
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        batching = try c.decodeIfPresent(BatchingOptions.self, forKey: .batching) ?? d.batching
    }

    /// Throws ``DataError/invalidConfiguration(_:)`` for out-of-range settings.
    public func validate() throws {
        func fail(_ message: String) -> DataError { .invalidConfiguration(message) }
        guard maxSequenceLength >= 2 else { throw fail("maxSequenceLength must be at least 2 (got \(maxSequenceLength))") }
        guard minTokens >= 0 else { throw fail("minTokens must not be negative (got \(minTokens))") }
        if let maxTokens, maxTokens < max(minTokens, 1) {
            throw fail("maxTokens (\(maxTokens)) must be at least 1 and at least minTokens (\(minTokens))")
        }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw fail("validationFraction must be in [0, 1) (got \(validationFraction))")
        }
        try batching.validate()
    }
}
