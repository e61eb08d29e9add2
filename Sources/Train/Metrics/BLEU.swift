import Foundation
import Model

/// BLEU as sacreBLEU computes it (Papineni et al. 2002; sacreBLEU 2.x semantics).
///
/// Defaults equal `sacrebleu.corpus_bleu` / `BLEU()`: `13a` tokenization, case-sensitive,
/// n-grams up to 4, `exp` smoothing (each order with no match gets precision 100/(2^k·total)),
/// no effective order, brevity penalty `exp(1 − r/c)` when the hypothesis length `c` is below the
/// closest reference length `r`. Corpus BLEU sums n-gram statistics over all segments before
/// combining them (it is not the mean of sentence scores). Scores are on the 0–100 scale.
public enum BLEU {
    /// How n-gram precisions with no matches are smoothed (Chen & Cherry 2014).
    public enum Smoothing: Sendable, Codable, Hashable {
        /// No smoothing: one empty order makes the score 0.
        case none
        /// Method 1: a zero count is replaced by `value` (sacreBLEU default 0.1).
        case floor(Double)
        /// Method 2: `k` is added to counts and totals of orders 2 and up (default 1).
        case addK(Double)
        /// Method 3, NIST/mteval-v13a: the k-th zero order gets precision 100/(2^k·total).
        case exp
    }

    /// Settings; the defaults are sacreBLEU's corpus defaults.
    public struct Options: Sendable, Codable, Hashable {
        /// Lowercase hypotheses and references before tokenizing.
        public var lowercase: Bool
        /// Tokenize with ``Tokenizer13a`` (else split on whitespace only).
        public var tokenize13a: Bool
        /// Highest n-gram order.
        public var maxNgramOrder: Int
        /// Smoothing method.
        public var smoothing: Smoothing
        /// Average only the orders up to the last one with any n-grams (sacreBLEU's sentence default).
        public var effectiveOrder: Bool

        /// Creates options; the defaults equal `sacrebleu.BLEU()`.
        public init(lowercase: Bool = false, tokenize13a: Bool = true, maxNgramOrder: Int = 4,
                    smoothing: Smoothing = .exp, effectiveOrder: Bool = false) {
            self.lowercase = lowercase
            self.tokenize13a = tokenize13a
            self.maxNgramOrder = max(1, maxNgramOrder)
            self.smoothing = smoothing
            self.effectiveOrder = effectiveOrder
        }

        /// sacreBLEU's corpus defaults.
        public static let corpus = Options()
        /// sacreBLEU's `sentence_bleu` defaults (effective order on).
        public static let sentence = Options(effectiveOrder: true)
    }

    /// A BLEU result with its sufficient statistics.
    public struct Score: Sendable, Hashable {
        /// BLEU on the 0–100 scale.
        public var score: Double
        /// Matched n-grams per order (clipped by the references).
        public var matches: [Double]
        /// Hypothesis n-grams per order.
        public var totals: [Double]
        /// Precision per order, in percent (after smoothing).
        public var precisions: [Double]
        /// Brevity penalty in [0, 1].
        public var brevityPenalty: Double
        /// Total hypothesis length in tokens.
        public var hypothesisLength: Int
        /// Total closest-reference length in tokens.
        public var referenceLength: Int
    }

    /// Corpus BLEU with one reference per hypothesis.
    public static func corpusScore(hypotheses: [String], references: [String], options: Options = .corpus) throws -> Score {
        guard hypotheses.count == references.count else {
            throw MetricError.countMismatch(predictions: hypotheses.count, references: references.count)
        }
        return try corpusScore(hypotheses: hypotheses, referenceSets: references.map { [$0] }, options: options)
    }

    /// Corpus BLEU where `referenceSets[i]` holds every reference of `hypotheses[i]`.
    public static func corpusScore(hypotheses: [String], referenceSets: [[String]], options: Options = .corpus) throws -> Score {
        guard hypotheses.count == referenceSets.count else {
            throw MetricError.countMismatch(predictions: hypotheses.count, references: referenceSets.count)
        }
        let n = options.maxNgramOrder
        var stats = SegmentStatistics(order: n)
        for (index, (hypothesis, references)) in zip(hypotheses, referenceSets).enumerated() {
            guard !references.isEmpty else { throw MetricError.noReferences(index: index) }
            stats.add(segmentStatistics(hypothesis: hypothesis, references: references, options: options))
        }
        return score(from: stats, options: options)
    }

    /// BLEU of one sentence (sacreBLEU's `sentence_bleu` with the default ``Options/sentence``).
    public static func sentenceScore(hypothesis: String, references: [String], options: Options = .sentence) throws -> Score {
        try corpusScore(hypotheses: [hypothesis], referenceSets: [references], options: options)
    }

    // MARK: - Statistics

    struct SegmentStatistics {
        var hypothesisLength = 0
        var referenceLength = 0
        var matches: [Int]
        var totals: [Int]

        init(order: Int) {
            matches = Array(repeating: 0, count: order)
            totals = Array(repeating: 0, count: order)
        }

        mutating func add(_ other: SegmentStatistics) {
            hypothesisLength += other.hypothesisLength
            referenceLength += other.referenceLength
            for i in matches.indices {
                matches[i] += other.matches[i]
                totals[i] += other.totals[i]
            }
        }
    }

    /// Token ids of `text` after sacreBLEU's preprocessing (rstrip, optional lowercase, tokenize).
    private static func tokenIDs(_ text: String, options: Options, vocabulary: inout [String: Int]) -> [Int] {
        var line = text.rstrippingPythonWhitespace()
        if options.lowercase { line = line.pythonLowercased() }
        let words = options.tokenize13a ? Tokenizer13a.tokens(line) : line.splitOnPythonWhitespace()
        return words.map { word in
            if let id = vocabulary[word] { return id }
            let id = vocabulary.count
            vocabulary[word] = id
            return id
        }
    }

    private static func ngramCounts(_ ids: [Int], order: Int) -> [ArraySlice<Int>: Int] {
        var counts: [ArraySlice<Int>: Int] = [:]
        guard !ids.isEmpty else { return counts }
        for n in 1...order where n <= ids.count {
            for start in 0...(ids.count - n) { counts[ids[start..<(start + n)], default: 0] += 1 }
        }
        return counts
    }

    static func segmentStatistics(hypothesis: String, references: [String], options: Options) -> SegmentStatistics {
        let order = options.maxNgramOrder
        var vocabulary: [String: Int] = [:]
        let hyp = tokenIDs(hypothesis, options: options, vocabulary: &vocabulary)
        var referenceCounts: [ArraySlice<Int>: Int] = [:]
        var closestLength = -1
        var closestDiff = -1
        for reference in references {
            let ref = tokenIDs(reference, options: options, vocabulary: &vocabulary)
            for (gram, count) in ngramCounts(ref, order: order) {
                referenceCounts[gram] = max(referenceCounts[gram] ?? 0, count)
            }
            let diff = abs(hyp.count - ref.count)
            if closestDiff == -1 || diff < closestDiff || (diff == closestDiff && ref.count < closestLength) {
                closestDiff = diff
                closestLength = ref.count
            }
        }
        var stats = SegmentStatistics(order: order)
        stats.hypothesisLength = hyp.count
        stats.referenceLength = max(closestLength, 0)
        for (gram, count) in ngramCounts(hyp, order: order) {
            stats.totals[gram.count - 1] += count
            if let refCount = referenceCounts[gram] { stats.matches[gram.count - 1] += min(count, refCount) }
        }
        return stats
    }

    /// sacreBLEU's `compute_bleu`, including its floor of log(0) at −9999999999.
    static func score(from stats: SegmentStatistics, options: Options) -> Score {
        let order = options.maxNgramOrder
        var matches = stats.matches.map(Double.init)
        var totals = stats.totals.map(Double.init)
        let sys = stats.hypothesisLength, ref = stats.referenceLength
        var bp = 1.0
        if sys < ref { bp = sys > 0 ? exp(1 - Double(ref) / Double(sys)) : 0 }
        var precisions = Array(repeating: 0.0, count: order)
        func result(_ value: Double) -> Score {
            Score(score: value, matches: matches, totals: totals, precisions: precisions, brevityPenalty: bp,
                  hypothesisLength: sys, referenceLength: ref)
        }
        if !matches.contains(where: { $0 != 0 }) { return result(0) }

        var smoothMteval = 1.0
        var effectiveOrder = order
        for n in 1...order {
            if case .addK(let k) = options.smoothing, n > 1 {
                matches[n - 1] += k
                totals[n - 1] += k
            }
            if totals[n - 1] == 0 { break }
            if options.effectiveOrder { effectiveOrder = n }
            if matches[n - 1] == 0 {
                switch options.smoothing {
                case .exp:
                    smoothMteval *= 2
                    precisions[n - 1] = 100 / (smoothMteval * totals[n - 1])
                case .floor(let value):
                    precisions[n - 1] = 100 * value / totals[n - 1]
                case .none, .addK:
                    break
                }
            } else {
                precisions[n - 1] = 100 * matches[n - 1] / totals[n - 1]
            }
        }
        let logSum = precisions[0..<effectiveOrder].reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
        return result(bp * exp(logSum / Double(effectiveOrder)))
    }
}
