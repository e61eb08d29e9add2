import Tensor

/// Chooses the next token from a row of logits, the way transformers' `generate` does.
///
/// Per step the logits pass through, in transformers' order: the repetition penalty, then the OpenAI
/// frequency/presence penalties, then (when sampling) temperature, top-k, top-p and min-p, each filter
/// acting on what the previous one left and keeping at least the most probable token
/// (`min_tokens_to_keep = 1`). A token is then drawn with `SeededRandom`, so the same seed gives the same
/// tokens. Temperature 0 returns the argmax of the penalised logits (ties → lowest id).
///
/// A generation loop creates one `Sampler` per sequence and calls `sampleToken(from:)` once per step with
/// the model's last-position logits. The work is a few vectorised linear scans of the row: top-k is a
/// partial (heap) selection, top-p without top-k buckets the row instead of sorting it, and all buffers
/// are reused across steps. NaN logits are never sampled.
public struct Sampler: Sendable {
    /// The settings this sampler applies.
    public let config: GenerationConfig
    /// The prompt and the tokens generated so far (drives the penalties).
    public private(set) var history: TokenHistory
    /// The random generator; its state advances by one draw per sampled (non-greedy) token.
    public private(set) var random: SeededRandom
    private var scratch = SamplerScratch()

    /// Creates a sampler for one sequence starting with `prompt`. Throws `GenerationError.invalidConfig`
    /// when `config` is out of range. The generator is seeded from `config.seed` (or the system when nil).
    public init(config: GenerationConfig, prompt: [Int] = []) throws {
        try config.validate()
        self.config = config
        self.history = TokenHistory(prompt: prompt)
        self.random = SeededRandom(seed: config.seed ?? UInt64.random(in: 0 ... .max))
    }

    /// Starts a new sequence with `prompt`; the random generator continues where it was.
    public mutating func reset(prompt: [Int]) {
        history = TokenHistory(prompt: prompt)
    }

    /// Records a token chosen outside the sampler (e.g. forced) so later penalties count it.
    public mutating func record(_ token: Int) {
        history.recordGenerated(token)
    }

    /// Draws the next token from `logits` and records it. The penalties are applied to `logits` in place
    /// (no copy of the row); use this when the buffer is yours to overwrite.
    public mutating func sampleToken(overwriting logits: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard !logits.isEmpty else { throw GenerationError.emptyLogits }
        applyPenalties(to: logits)
        let row = UnsafeBufferPointer(logits)
        let token: Int
        if config.isGreedy {
            guard let best = VectorMath.argmax(row) else { throw GenerationError.noSampleableToken }
            token = best
        } else {
            scratch.reserveWorkBuffers(logits.count)
            var work = scratch
            scratch = SamplerScratch()
            defer { scratch = work }
            token = try work.withBuffers { candidates, filterScratch in
                let weights = filterScratch.weights
                let kept = try LogitFilters.apply(to: row, config: config, candidates: candidates,
                                                  scratch: filterScratch)
                let (count, total) = try Self.weights(of: kept, logits: row, candidates: candidates,
                                                    inverseTemperature: 1 / config.temperature, into: weights)
                let target = Double(random.next() >> 11) * 0x1p-53 * total
                let index = VectorMath.firstIndexExceeding(target, runningSumOf: UnsafeBufferPointer(
                    rebasing: weights[0..<count]))
                return kept == .all ? index : Int(candidates[index].id)
            }
        }
        history.recordGenerated(token)
        return token
    }

    /// Draws the next token from `logits` (left untouched; copied into a reused buffer) and records it.
    public mutating func sampleToken(from logits: UnsafeBufferPointer<Float>) throws -> Int {
        guard let source = logits.baseAddress, !logits.isEmpty else { throw GenerationError.emptyLogits }
        scratch.reserveLogitsCopy(logits.count)
        var copy = scratch.logits
        scratch.logits = []
        defer { scratch.logits = copy }
        return try copy.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.update(from: source, count: logits.count)
            return try sampleToken(overwriting: UnsafeMutableBufferPointer(rebasing: buffer[0..<logits.count]))
        }
    }

    /// Draws the next token from `logits` and records it.
    public mutating func sampleToken(from logits: [Float]) throws -> Int {
        try logits.withUnsafeBufferPointer { try sampleToken(from: $0) }
    }

    /// The logits after this sampler's penalties and filters, as transformers' processors would leave them:
    /// penalised, divided by the temperature, and −infinity for every token the filters removed. With
    /// temperature 0 only the penalties apply (greedy decoding uses no warpers). For inspection and tests;
    /// allocates.
    public func processedLogits(_ logits: [Float]) throws -> [Float] {
        var penalised = logits
        var work = SamplerScratch()
        let kept = try filter(&penalised, scratch: &work)
        guard let kept else { return penalised }
        let temperature = config.temperature
        switch kept {
        case .all:
            return penalised.map { $0 / temperature }
        case let .candidates(count, _):
            var result = [Float](repeating: -.infinity, count: logits.count)
            for c in work.candidates[0..<count] { result[Int(c.id)] = c.logit / temperature }
            return result
        }
    }

    /// The probability with which the next `sampleToken` would draw each token (0 for filtered-out tokens;
    /// one-hot at the argmax when greedy), computed by the same code the draw uses. Does not advance the
    /// generator or the history. For inspection (e.g. showing alternatives) and tests; allocates.
    public func probabilities(_ logits: [Float]) throws -> [Float] {
        var penalised = logits
        var work = SamplerScratch()
        var result = [Float](repeating: 0, count: logits.count)
        guard let kept = try filter(&penalised, scratch: &work) else {
            guard let best = penalised.withUnsafeBufferPointer(VectorMath.argmax) else {
                throw GenerationError.noSampleableToken
            }
            result[best] = 1
            return result
        }
        try penalised.withUnsafeBufferPointer { row in
            try work.withBuffers { candidates, filterScratch in
                let weights = filterScratch.weights
                let (count, total) = try Self.weights(of: kept, logits: row, candidates: candidates,
                                                    inverseTemperature: 1 / config.temperature, into: weights)
                for i in 0..<count {
                    let id = kept == .all ? i : Int(candidates[i].id)
                    result[id] = Float(Double(weights[i]) / total)
                }
            }
        }
        return result
    }

    // MARK: - Steps

    private func applyPenalties(to logits: UnsafeMutableBufferPointer<Float>) {
        history.applyPenalties(to: logits, repetition: config.repetitionPenalty,
                               frequency: config.frequencyPenalty, presence: config.presencePenalty)
    }

    /// Penalises `logits` in place and, unless greedy, runs the filters (nil when greedy).
    private func filter(_ logits: inout [Float], scratch work: inout SamplerScratch) throws -> LogitFilters.Kept? {
        guard !logits.isEmpty else { throw GenerationError.emptyLogits }
        logits.withUnsafeMutableBufferPointer { applyPenalties(to: $0) }
        if config.isGreedy { return nil }
        work.reserveWorkBuffers(logits.count)
        return try logits.withUnsafeBufferPointer { row in
            try work.withBuffers { candidates, filterScratch in
                try LogitFilters.apply(to: row, config: config, candidates: candidates, scratch: filterScratch)
            }
        }
    }

    /// The unnormalised weights exp((logit − max) / T) of the kept tokens, written to `weights` in the order
    /// of the row (`.all`) or of the candidates, with their count and sum.
    private static func weights(
        of kept: LogitFilters.Kept, logits: UnsafeBufferPointer<Float>, candidates: UnsafeMutableBufferPointer<Candidate>,
        inverseTemperature: Float, into weights: UnsafeMutableBufferPointer<Float>
    ) throws -> (count: Int, total: Double) {
        let count: Int
        let top: Float
        let source: UnsafePointer<Float>
        switch kept {
        case .all:
            count = logits.count
            top = VectorMath.maximum(logits)
            source = logits.baseAddress!
        case let .candidates(n, sorted):
            guard n > 0 else { throw GenerationError.noSampleableToken }
            count = n
            var best = candidates[0].logit
            if !sorted { for c in candidates[1..<n] where c.logit > best { best = c.logit } }
            top = best
            for i in 0..<n { weights[i] = candidates[i].logit }
            source = UnsafePointer(weights.baseAddress!)
        }
        guard top.isFinite else { throw GenerationError.noSampleableToken }
        let total = VectorMath.weights(of: source, count: count, shift: top, scale: inverseTemperature,
                                       into: weights.baseAddress!)
        guard total > 0, total.isFinite else { throw GenerationError.noSampleableToken }
        return (count, total)
    }
}

/// Buffers the sampler reuses from step to step, sized to the vocabulary on first use.
struct SamplerScratch: Sendable {
    var logits: [Float] = []
    var weights: [Float] = []
    var candidates: [Candidate] = []
    var buckets: [Int32] = []
    var masses: [Double] = []

    mutating func reserveLogitsCopy(_ vocabulary: Int) {
        if logits.count < vocabulary { logits = [Float](repeating: 0, count: vocabulary) }
    }

    mutating func reserveWorkBuffers(_ vocabulary: Int) {
        if weights.count < vocabulary { weights = [Float](repeating: 0, count: vocabulary) }
        if candidates.count < vocabulary {
            candidates = [Candidate](repeating: Candidate(logit: 0, id: 0), count: vocabulary)
        }
        if buckets.count < vocabulary { buckets = [Int32](repeating: 0, count: vocabulary) }
        if masses.count < NucleusSearch.bucketCount + 1 {
            masses = [Double](repeating: 0, count: NucleusSearch.bucketCount + 1)
        }
    }

    mutating func withBuffers<R>(
        _ body: (UnsafeMutableBufferPointer<Candidate>, LogitFilters.FilterScratch) throws -> R
    ) rethrows -> R {
        try candidates.withUnsafeMutableBufferPointer { candidates in
            try weights.withUnsafeMutableBufferPointer { weights in
                try buckets.withUnsafeMutableBufferPointer { buckets in
                    try masses.withUnsafeMutableBufferPointer { masses in
                        try body(candidates, LogitFilters.FilterScratch(weights: weights, buckets: buckets, masses: masses))
                    }
                }
            }
        }
    }
}
