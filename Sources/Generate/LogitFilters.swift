import Foundation

/// Top-k, top-p and min-p, applied in that order (transformers' order) to one penalised logits row.
///
/// Each filter acts on what the previous one kept, with probabilities taken from softmax(logit / T) of the
/// survivors, and keeps at least the best token. Survivors are described without copying the row:
/// either the whole row, or a list of candidates in a scratch buffer.
enum LogitFilters {
    /// What survives: the whole row, or `count` candidates (best-first when `sorted`).
    enum Kept: Equatable {
        case all
        case candidates(count: Int, sorted: Bool)
    }

    /// Scratch space for the top-p search over a whole row.
    struct FilterScratch {
        /// ≥ the row length.
        var weights: UnsafeMutableBufferPointer<Float>
        /// ≥ the row length.
        var buckets: UnsafeMutableBufferPointer<Int32>
        /// ≥ `NucleusSearch.bucketCount + 1`.
        var masses: UnsafeMutableBufferPointer<Double>
    }

    /// Applies the filters of `config` to `logits`; `candidates` (≥ the row length) receives the survivors.
    static func apply(
        to logits: UnsafeBufferPointer<Float>, config: GenerationConfig, candidates: UnsafeMutableBufferPointer<Candidate>,
        scratch: FilterScratch
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
                guard count > 0, candidates[0].logit > -.infinity else { throw GenerationError.noSampleableToken }
                kept = .candidates(count: sortedNucleusSize(candidates, count: count, topP: config.topP,
                                                            inverseTemperature: inverseTemperature), sorted: true)
            case .all:
                let (top, lowest) = VectorMath.extrema(logits)
                guard top.isFinite else { throw GenerationError.noSampleableToken }
                let count = NucleusSearch.nucleus(of: logits, top: top, lowest: lowest, topP: config.topP,
                                                  inverseTemperature: inverseTemperature, weights: scratch.weights,
                                                  buckets: scratch.buckets, masses: scratch.masses, into: candidates)
                kept = .candidates(count: count, sorted: false)
            }
        }

        if config.minP > 0 {
            switch kept {
            case let .candidates(count, sorted):
                guard count > 0 else { throw GenerationError.noSampleableToken }
                var top = candidates[0].logit
                for c in candidates[1..<count] where c.logit > top { top = c.logit }
                guard top.isFinite else { throw GenerationError.noSampleableToken }
                var keep = 0
                for i in 0..<count where passesMinP(candidates[i].logit, top: top, config.minP, inverseTemperature) {
                    candidates[keep] = candidates[i]
                    keep += 1
                }
                kept = .candidates(count: keep, sorted: sorted)
            case .all:
                let top = VectorMath.maximum(logits)
                guard top.isFinite else { throw GenerationError.noSampleableToken }
                // A cheap logit-space pre-test with a margin, then the exact probability-ratio test.
                let loose = top + config.temperature * (Foundation.log(config.minP) - 1e-4)
                let looseLanes = VectorMath.Lanes(repeating: loose)
                let base = logits.baseAddress!
                var count = 0
                var i = 0
                while i < vocabulary {
                    let end = min(i + VectorMath.width, vocabulary)
                    if end - i == VectorMath.width && !any(VectorMath.load(base, i) .>= looseLanes) {
                        i = end
                        continue
                    }
                    while i < end {
                        let value = logits[i]
                        if value >= loose && passesMinP(value, top: top, config.minP, inverseTemperature) {
                            candidates[count] = Candidate(logit: value, id: Int32(i))
                            count += 1
                        }
                        i += 1
                    }
                }
                kept = .candidates(count: count, sorted: false)
            }
        }
        return kept
    }

    /// transformers' min-p test: probability ≥ minP × the best probability, i.e. exp((logit − top)/T) ≥ minP.
    @inline(__always)
    static func passesMinP(_ logit: Float, top: Float, _ minP: Float, _ inverseTemperature: Float) -> Bool {
        Foundation.exp((logit - top) * inverseTemperature) >= minP
    }

    /// Nucleus size of best-first `candidates`: token i is kept while the mass ranked above it is below
    /// `topP` of the candidates' total (the token crossing `topP` is kept; the first always is).
    static func sortedNucleusSize(
        _ candidates: UnsafeMutableBufferPointer<Candidate>, count: Int, topP: Float, inverseTemperature: Float
    ) -> Int {
        let top = candidates[0].logit
        var total = 0.0
        for c in candidates[0..<count] { total += Double(Foundation.exp((c.logit - top) * inverseTemperature)) }
        let target = Double(topP) * total
        var above = 0.0
        for i in 0..<count {
            if i > 0 && above >= target { return i }
            above += Double(Foundation.exp((candidates[i].logit - top) * inverseTemperature))
        }
        return count
    }
}
