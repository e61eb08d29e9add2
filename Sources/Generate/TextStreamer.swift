import Model

/// Turns the sampled token ids of one generation into streamed text and decides when it ends.
///
/// It combines a `UTF8StreamDecoder` (token bytes → complete characters), a `StopSequenceMatcher`
/// (stop strings never shown), the stop tokens (EOS when `stopOnEOS`, and `stopTokenIDs`; never shown) and
/// the `maxNewTokens` limit. A generation loop feeds each sampled token to `append(token:)`, forwards the
/// returned text, and stops once `finishReason` is set; `result` then describes the whole generation.
/// When generation ends for any reason but cancellation, text still held back (an incomplete character,
/// or a tail that did not become a stop string) is released with the last token.
public struct TextStreamer: Sendable {
    /// What one token produced.
    public struct Step: Sendable, Equatable {
        /// Text to show now (possibly empty).
        public var text: String
        /// Set when this token ended the generation.
        public var finishReason: FinishReason?

        /// Creates a step value.
        public init(text: String, finishReason: FinishReason? = nil) {
            self.text = text
            self.finishReason = finishReason
        }
    }

    /// All text emitted so far.
    public private(set) var text = ""
    /// Every token appended so far.
    public private(set) var tokenIDs: [Int] = []
    /// Why generation ended; nil while it continues. `.length` from the start when `maxNewTokens` is 0.
    public private(set) var finishReason: FinishReason?
    /// Number of prompt tokens, carried into `result`.
    public let promptTokenCount: Int

    private let tokenizer: any Tokenizer
    private let stopTokens: Set<Int>
    private let maxNewTokens: Int
    private let skipSpecialTokens: Bool
    private var decoder = UTF8StreamDecoder()
    private var matcher: StopSequenceMatcher

    /// Creates a streamer for one generation with `config`'s stop settings and length limit.
    /// With `skipSpecialTokens`, special tokens other than stop tokens add no text (like
    /// `decode(skip_special_tokens=True)`).
    public init(config: GenerationConfig, tokenizer: any Tokenizer, promptTokenCount: Int = 0,
                skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        var stops = Set(config.stopTokenIDs)
        if config.stopOnEOS, let eos = tokenizer.eosTokenID { stops.insert(eos) }
        self.stopTokens = stops
        self.maxNewTokens = config.maxNewTokens
        self.skipSpecialTokens = skipSpecialTokens
        self.promptTokenCount = promptTokenCount
        self.matcher = StopSequenceMatcher(stopStrings: config.stopStrings)
        if config.maxNewTokens <= 0 { finishReason = .length }
    }

    /// Whether generation has ended.
    public var isFinished: Bool { finishReason != nil }

    /// The finished generation's summary (nil while it continues).
    public var result: GenerationResult? {
        finishReason.map {
            GenerationResult(text: text, tokenIDs: tokenIDs, finishReason: $0, promptTokenCount: promptTokenCount)
        }
    }

    /// Adds the next sampled token. After the generation has finished, further tokens are ignored.
    public mutating func append(token id: Int) -> Step {
        guard finishReason == nil else { return Step(text: "", finishReason: nil) }
        tokenIDs.append(id)
        var delta = ""
        if stopTokens.contains(id) {
            finishReason = .endOfSequence(token: id)
        } else {
            let bytes = skipSpecialTokens && tokenizer.isSpecial(id) ? [] : tokenizer.bytes(forToken: id)
            let output = matcher.append(decoder.append(bytes))
            delta = output.text
            if let stop = output.stop { finishReason = .stopString(stop) }
        }
        if finishReason == nil && tokenIDs.count >= maxNewTokens { finishReason = .length }
        if finishReason != nil && !matcher.isStopped {
            let flushed = matcher.append(decoder.finish())
            delta += flushed.text
            if let stop = flushed.stop {
                finishReason = .stopString(stop)
            } else {
                delta += matcher.finish().text
            }
        }
        text += delta
        return Step(text: delta, finishReason: finishReason)
    }

    /// Ends the generation as cancelled; held-back text is discarded. No effect once finished.
    public mutating func cancel() {
        if finishReason == nil { finishReason = .cancelled }
    }
}
