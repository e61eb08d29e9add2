import Model

/// ROUGE-1, ROUGE-2 and ROUGE-L as Google's `rouge-score` package computes them by default
/// (`RougeScorer(['rouge1', 'rouge2', 'rougeL'])`, no stemmer).
///
/// Text is lowercased and split into maximal runs of `[a-z0-9]` (everything else separates
/// tokens). ROUGE-N counts clipped n-gram overlaps; ROUGE-L uses the longest common subsequence.
/// Each gives precision (over the prediction), recall (over the target) and their harmonic mean F1.
public enum ROUGE {
    /// Precision, recall and F1 of one comparison.
    public struct Score: Sendable, Hashable {
        /// Share of the prediction's units found in the target.
        public var precision: Double
        /// Share of the target's units found in the prediction.
        public var recall: Double
        /// Harmonic mean of precision and recall (0 when both are 0).
        public var f1: Double

        init(precision: Double, recall: Double) {
            self.precision = precision
            self.recall = recall
            f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        }
    }

    /// The three scores for one prediction/target pair.
    public struct PairScores: Sendable, Hashable {
        /// Unigram overlap.
        public var rouge1: Score
        /// Bigram overlap.
        public var rouge2: Score
        /// Longest common subsequence.
        public var rougeL: Score
    }

    /// Per-pair scores and the mean F1 of each kind over all pairs.
    public struct CorpusScores: Sendable, Hashable {
        /// One entry per pair, in input order.
        public var pairs: [PairScores]
        /// Mean ROUGE-1 F1.
        public var rouge1F1: Double
        /// Mean ROUGE-2 F1.
        public var rouge2F1: Double
        /// Mean ROUGE-L F1.
        public var rougeLF1: Double
    }

    /// rouge-score's default tokens: lowercase, then the maximal runs of ASCII letters and digits.
    public static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.pythonLowercased().unicodeScalars {
            let v = scalar.value
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
                current.append(scalar)
            } else if !current.isEmpty {
                tokens.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { tokens.append(String(current)) }
        return tokens
    }

    /// Scores `prediction` against `target` (rouge-score's `scorer.score(target, prediction)`).
    public static func score(prediction: String, target: String) -> PairScores {
        var vocabulary: [String: Int] = [:]
        func ids(_ text: String) -> [Int] {
            tokens(text).map { word in
                if let id = vocabulary[word] { return id }
                vocabulary[word] = vocabulary.count
                return vocabulary.count - 1
            }
        }
        let t = ids(target), p = ids(prediction)
        return PairScores(rouge1: ngramScore(target: t, prediction: p, n: 1),
                          rouge2: ngramScore(target: t, prediction: p, n: 2),
                          rougeL: lcsScore(target: t, prediction: p))
    }

    /// Scores each pair and averages the F1 values (0 for an empty corpus).
    public static func corpusScore(predictions: [String], targets: [String]) throws -> CorpusScores {
        guard predictions.count == targets.count else {
            throw MetricError.countMismatch(predictions: predictions.count, references: targets.count)
        }
        let pairs = zip(predictions, targets).map { score(prediction: $0, target: $1) }
        func mean(_ f: (PairScores) -> Double) -> Double {
            pairs.isEmpty ? 0 : pairs.reduce(0.0) { $0 + f($1) } / Double(pairs.count)
        }
        return CorpusScores(pairs: pairs, rouge1F1: mean(\.rouge1.f1), rouge2F1: mean(\.rouge2.f1), rougeLF1: mean(\.rougeL.f1))
    }

    private static func ngramScore(target: [Int], prediction: [Int], n: Int) -> Score {
        func counts(_ ids: [Int]) -> [ArraySlice<Int>: Int] {
            var c: [ArraySlice<Int>: Int] = [:]
            if ids.count >= n { for i in 0...(ids.count - n) { c[ids[i..<(i + n)], default: 0] += 1 } }
            return c
        }
        let tc = counts(target), pc = counts(prediction)
        var overlap = 0
        for (gram, count) in tc { overlap += min(count, pc[gram] ?? 0) }
        let targetTotal = max(target.count - n + 1, 0), predictionTotal = max(prediction.count - n + 1, 0)
        return Score(precision: Double(overlap) / Double(max(predictionTotal, 1)),
                     recall: Double(overlap) / Double(max(targetTotal, 1)))
    }

    private static func lcsScore(target: [Int], prediction: [Int]) -> Score {
        guard !target.isEmpty, !prediction.isEmpty else { return Score(precision: 0, recall: 0) }
        // One rolling row of the LCS table.
        var row = Array(repeating: 0, count: prediction.count + 1)
        for t in target {
            var diagonal = 0
            for j in 1...prediction.count {
                let above = row[j]
                row[j] = t == prediction[j - 1] ? diagonal + 1 : max(above, row[j - 1])
                diagonal = above
            }
        }
        let lcs = Double(row[prediction.count])
        return Score(precision: lcs / Double(prediction.count), recall: lcs / Double(target.count))
    }
}
