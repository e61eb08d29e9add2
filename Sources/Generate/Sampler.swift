import Foundation
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
/// the model's last-position logits. Work is proportional to the vocabulary only for linear scans: top-k is a
/// partial (heap) selection, top-p without top-k grows a partial selection until the nucleus is covered,
/// and all buffers are reused across steps.
public struct Sampler: Sendable {
    /// The settings this sampler applies.
    public let config: GenerationConfig
    /// The prompt and the tokens generated so far (drives the penalties).
    public private(set) var history: TokenHistory
    /// The random generator; its state advances by one draw per sampled token.
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
    /// (no copy); use this when the buffer is yours to overwrite.
    public mutating func sampleToken(overwriting logits: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard !logits.isEmpty else { throw GenerationError.emptyLogits }
        history.applyPenalties(to: logits, repetition: config.repetitionPenalty,
                               frequency: config.frequencyPenalty, presence: config.presencePenalty)
        let token: Int
        if config.isGreedy {
            token = try Self.argmax(UnsafeBufferPointer(logits))
        } else {
            scratch.reserve(logits.count)
            var work = scratch
            scratch = SamplerScratch()
            defer { scratch = work }
            token = try work.candidates.withUnsafeMutableBufferPointer { candidates in
                try work.weights.withUnsafeMutableBufferPointer { weights in
                    let kept = try Self.filter(UnsafeBufferPointer(logits), config: config, candidates: candidates)
                    return try Self.draw(from: kept, logits: UnsafeBufferPointer(logits), candidates: candidates,
                                         weights: weights, inverseTemperature: 1 / config.temperature,
                                         random: &random)
                }
            }
        }
        history.recordGenerated(token)
        return token
    }

    /// Draws the next token from `logits` (left untouched; copied into a reused buffer) and records it.
    public mutating func sampleToken(from logits: UnsafeBufferPointer<Float>) throws -> Int {
        guard !logits.isEmpty else { throw GenerationError.emptyLogits }
        scratch.reserve(logits.count)
        var copy = scratch.logits
        scratch.logits = []
        defer { scratch.logits = copy }
        return try copy.withUnsafeMutableBufferPointer { buffer in
            let row = UnsafeMutableBufferPointer(rebasing: buffer[0..<logits.count])
            _ = row.initialize(from: logits)
            return try sampleToken(overwriting: row)
        }
    }

    /// Draws the next token from `logits` and records it.
    public mutating func sampleToken(from logits: [Float]) throws -> Int {
        try logits.withUnsafeBufferPointer { try sampleToken(from: $0) }
    }

    /// The logits after this sampler's penalties and filters, as transformers' processors would leave them:
    /// penalised, divided by the temperature, and -infinity for every token the filters removed. With
    /// temperature 0 only the penalties apply (greedy decoding uses no warpers). For inspection and tests;
    /// allocates.
    public func processedLogits(_ logits: [Float]) throws -> [Float] {
        guard !logits.isEmpty else { throw GenerationError.emptyLogits }
        var penalised = logits
        penalised.withUnsafeMutableBufferPointer {
            history.applyPenalties(to: $0, repetition: config.repetitionPenalty,
                                   frequency: config.frequencyPenalty, presence: config.presencePenalty)
        }
        if config.isGreedy { return penalised }
        var candidates = [Candidate](repeating: Candidate(logit: 0, id: 0), count: logits.count)
        let temperature = config.temperature
        let kept = try penalised.withUnsafeBufferPointer { row in
            try candidates.withUnsafeMutableBufferPointer { try Self.filter(row, config: config, candidates: $0) }
        }
        switch kept {
        case .all:
            return penalised.map { $0 / temperature }
        case let .candidates(count, _):
            var result = [Float](repeating: -.infinity, count: logits.count)
            for c in candidates[0..<count] { result[Int(c.id)] = c.logit / temperature }
            return result
        }
    }

    // MARK: - Pipeline

    /// What survives top-k, top-p and min-p: the whole row, or `count` candidates (best-first when sorted).
    enum Kept: Equatable {
        case all
        case candidates(count: Int, sorted: Bool)
    }

    /// Applies top-k, top-p and min-p (in that order) to the penalised `logits`.
    static func filter(
        _ logits: UnsafeBufferPointer<Float>, config: GenerationConfig, candidates: UnsafeMutableBufferPointer<Candidate>
    ) throws -> Kept {
        let vocabulary = logits.count
        let inverseTemperature = 1 / config.temperature
        var kept = Kept.all

        if config.topK > 0 && config.topK < vocabulary {
            var (count, boundaryTie) = CandidateSelection.selectBest(config.topK, of: logits, into: candidates)
            if boundaryTie {  // transformers keeps every token scoring at least the k-th score
                count = CandidateSelection.collectAtLeast(candidates[count - 1].logit, of: logits, into: candidates)
            }
            kept = .candidates(count: count, sorted: true)
        }

        if config.topP < 1 {
            switch kept {
            case let .candidates(count, _):
                guard count > 0 else { throw GenerationError.noSampleableToken }
                let shift = candidates[0].logit
                var total = 0.0
                for c in candidates[0..<count] { total += weight(c.logit, shift, inverseTemperature) }
                let keep = nucleusSize(candidates, count: count, total: total, topP: config.topP,
                                       shift: shift, inverseTemperature: inverseTemperature).keep
                kept = .candidates(count: keep, sorted: true)
            case .all:
                let shift = ScaledExp.maximum(of: logits)
                guard shift.isFinite else { throw GenerationError.noSampleableToken }
                let total = ScaledExp.sum(of: logits, shift: shift, scale: inverseTemperature)
                var selection = 64
                while true {
                    let count = CandidateSelection.selectBest(selection, of: logits, into: candidates).count
                    let (keep, decided) = nucleusSize(candidates, count: count, total: total, topP: config.topP,
                                                      shift: shift, inverseTemperature: inverseTemperature)
                    if decided || count == vocabulary {
                        kept = .candidates(count: keep, sorted: true)
                        break
                    }
                    selection = min(selection * 8, vocabulary)
                }
            }
        }

        if config.minP > 0 {
            switch kept {
            case let .candidates(count, _):
                guard count > 0 else { throw GenerationError.noSampleableToken }
                let top = candidates[0].logit
                var keep = 1
                while keep < count && Foundation.exp((candidates[keep].logit - top) * inverseTemperature) >= config.minP {
                    keep += 1
                }
                kept = .candidates(count: keep, sorted: true)
            case .all:
                let top = ScaledExp.maximum(of: logits)
                guard top.isFinite else { throw GenerationError.noSampleableToken }
                // Cheap logit-space pre-test with a margin, then transformers' exact probability-ratio test.
                let loose = top + config.temperature * (Foundation.log(config.minP) - 1e-4)
                var count = 0
                for i in 0..<vocabulary {
                    let value = logits[i]
                    if value >= loose && Foundation.exp((value - top) * inverseTemperature) >= config.minP {
                        candidates[count] = Candidate(logit: value, id: Int32(i))
                        count += 1
                    }
                }
                kept = .candidates(count: count, sorted: false)
            }
        }
        return kept
    }

    /// How many of the best-first `candidates` form the nucleus: token i is kept while the probability mass
    /// ranked above it is below `topP` (the token crossing `topP` is kept; the first is always kept).
    /// `decided` is false when all `count` candidates fit and the next, unseen token might too.
    static func nucleusSize(
        _ candidates: UnsafeMutableBufferPointer<Candidate>, count: Int, total: Double, topP: Float,
        shift: Float, inverseTemperature: Float
    ) -> (keep: Int, decided: Bool) {
        let target = Double(topP) * total
        var above = 0.0
        for i in 0..<count {
            if i > 0 && above >= target { return (i, true) }
            above += weight(candidates[i].logit, shift, inverseTemperature)
        }
        return (count, above >= target)
    }

    /// Draws one token id from the kept tokens in proportion to exp(logit / temperature).
    static func draw(
        from kept: Kept, logits: UnsafeBufferPointer<Float>, candidates: UnsafeMutableBufferPointer<Candidate>,
        weights: UnsafeMutableBufferPointer<Float>, inverseTemperature: Float, random: inout SeededRandom
    ) throws -> Int {
        switch kept {
        case .all:
            let shift = ScaledExp.maximum(of: logits)
            guard shift.isFinite else { throw GenerationError.noSampleableToken }
            let row = UnsafeMutableBufferPointer(rebasing: weights[0..<logits.count])
            let total = ScaledExp.weights(of: logits, shift: shift, scale: inverseTemperature, into: row)
            return try pick(total: total, weights: UnsafeBufferPointer(row), random: &random)
        case let .candidates(count, sorted):
            guard count > 0 else { throw GenerationError.noSampleableToken }
            var shift = candidates[0].logit
            if !sorted { for c in candidates[1..<count] where c.logit > shift { shift = c.logit } }
            guard shift.isFinite else { throw GenerationError.noSampleableToken }
            var total = 0.0
            for i in 0..<count {
                let w = Float(weight(candidates[i].logit, shift, inverseTemperature))
                weights[i] = w
                total += Double(w)
            }
            let index = try pick(total: total, weights: UnsafeBufferPointer(rebasing: weights[0..<count]),
                                 random: &random)
            return Int(candidates[index].id)
        }
    }

    /// Inverse-CDF draw: the first index whose running weight exceeds u × total, u uniform in [0, 1).
    static func pick(total: Double, weights: UnsafeBufferPointer<Float>, random: inout SeededRandom) throws -> Int {
        guard total > 0, total.isFinite else { throw GenerationError.noSampleableToken }
        let u = Double(random.next() >> 11) * 0x1p-53 * total
        var running = 0.0
        var lastPositive = 0
        for i in 0..<weights.count where weights[i] > 0 {
            running += Double(weights[i])
            lastPositive = i
            if u < running { return i }
        }
        return lastPositive  // rounding left u just past the final sum
    }

    /// Greedy choice: the highest logit, lowest id among ties; NaN never wins.
    static func argmax(_ logits: UnsafeBufferPointer<Float>) throws -> Int {
        var best = -Float.infinity
        var index = -1
        for i in 0..<logits.count where logits[i] > best {
            best = logits[i]
            index = i
        }
        guard index >= 0 else { throw GenerationError.noSampleableToken }
        return index
    }

    @inline(__always)
    static func weight(_ logit: Float, _ shift: Float, _ inverseTemperature: Float) -> Double {
        let e = Foundation.exp((logit - shift) * inverseTemperature)
        return e > 0 ? Double(e) : 0
    }
}

/// Buffers the sampler reuses from step to step, sized to the vocabulary on first use.
struct SamplerScratch: Sendable {
    var logits: [Float] = []
    var weights: [Float] = []
    var candidates: [Candidate] = []

    mutating func reserve(_ vocabulary: Int) {
        if logits.count < vocabulary { logits = [Float](repeating: 0, count: vocabulary) }
        if weights.count < vocabulary { weights = [Float](repeating: 0, count: vocabulary) }
        if candidates.count < vocabulary {
            candidates = [Candidate](repeating: Candidate(logit: 0, id: 0), count: vocabulary)
        }
    }
}
