import Foundation

/// A generated token's log-probability under the model, and the most probable tokens at its position.
///
/// The log-probabilities are the log-softmax of the model's raw logits for that position: before the
/// repetition, frequency and presence penalties, the temperature and the top-k / top-p / min-p filters
/// that the ``Sampler`` applies (what vLLM and llama.cpp's server report by default). They describe the
/// model, not the sampling settings; without penalties a greedy token is the first entry of `top` (when
/// `top` is not empty), since both rank equal logits by lower id first.
public struct TokenLogprobs: Sendable, Equatable {
    /// A token id with its log-probability.
    public struct Entry: Sendable, Equatable {
        /// The token id.
        public var token: Int
        /// Its log-probability (≤ 0; −infinity for a −infinity or NaN logit).
        public var logprob: Float

        /// An entry for `token` with `logprob`.
        public init(token: Int, logprob: Float) {
            self.token = token
            self.logprob = logprob
        }
    }

    /// The generated token's log-probability (−infinity when its logit is −infinity or NaN).
    public var logprob: Float
    /// The requested number of most probable tokens at this position, most probable first (equal
    /// logits: lower id first); fewer only when the vocabulary is smaller.
    public var top: [Entry]

    /// Log-probabilities with the generated token's `logprob` and the `top` alternatives.
    public init(logprob: Float, top: [Entry]) {
        self.logprob = logprob
        self.top = top
    }
}

/// The log-softmax of one logits row, computed only as far as it is asked: the log normaliser
/// (a numerically stable log-sum-exp: the maximum plus the log of Σ exp(x − max), summed in Double)
/// and the `k` best tokens by a partial heap selection (``CandidateSelection/selectBest(_:of:into:)``),
/// never a sort of the row. Any token's log-probability is then its logit minus the normaliser. Two
/// vectorised passes over the row, no allocation beyond the `k` entries.
struct LogSoftmaxRow {
    /// log Σ exp(x): +infinity when some logit is +infinity, −infinity when every logit is −infinity or NaN.
    let logNormalizer: Double
    /// The `k` most probable tokens, best first.
    let top: [TokenLogprobs.Entry]

    /// Summarises `row` (non-empty) with its `k` (≥ 0) most probable tokens.
    init(_ row: UnsafeBufferPointer<Float>, top k: Int) {
        let maximum = VectorMath.maximum(row)
        if maximum.isFinite {
            let total = VectorMath.sumOfExponentials(row, shift: maximum)
            logNormalizer = Double(maximum) + Foundation.log(total)
        } else {
            logNormalizer = Double(maximum)
        }
        let count = min(max(k, 0), row.count)
        guard count > 0 else {
            top = []
            return
        }
        let normalizer = logNormalizer
        top = withUnsafeTemporaryAllocation(of: Candidate.self, capacity: count) { buffer in
            let (n, _) = CandidateSelection.selectBest(count, of: row, into: buffer)
            return (0..<n).map { i in
                TokenLogprobs.Entry(token: Int(buffer[i].id), logprob: Self.logprob(buffer[i].logit, normalizer))
            }
        }
    }

    /// The log-probabilities of `token` in `row` (the row this summary was made from), with the top entries.
    func logprobs(token: Int, in row: UnsafeBufferPointer<Float>) -> TokenLogprobs {
        TokenLogprobs(logprob: row.indices.contains(token) ? Self.logprob(row[token], logNormalizer) : -.infinity, top: top)
    }

    /// x − log-normaliser, with the non-finite cases settled: a NaN logit is −infinity, and when the
    /// normaliser is +infinity the +infinity logits get 0 and the others −infinity.
    @inline(__always)
    static func logprob(_ logit: Float, _ normalizer: Double) -> Float {
        guard !logit.isNaN else { return -.infinity }
        let value = Double(logit) - normalizer
        if value.isNaN { return logit == .infinity ? 0 : -.infinity }
        return Float(min(value, 0))
    }
}
