import Foundation

/// Accumulates token-level negative log-likelihood across batches and reports mean NLL and
/// perplexity (`exp(mean NLL)`), weighting every target token equally.
public struct PerplexityMeter: Sendable, Hashable, Codable {
    /// Sum of per-token NLL (natural log) so far.
    public private(set) var totalNLL: Double = 0
    /// Number of target tokens so far.
    public private(set) var tokenCount: Int = 0

    /// An empty meter.
    public init() {}

    /// Adds a batch given the sum of its token NLLs and its number of target tokens.
    public mutating func add(sumNLL: Double, tokens: Int) {
        guard tokens > 0 else { return }
        totalNLL += sumNLL
        tokenCount += tokens
    }

    /// Adds a batch given its mean token NLL and number of target tokens.
    public mutating func add(meanNLL: Double, tokens: Int) {
        add(sumNLL: meanNLL * Double(tokens), tokens: tokens)
    }

    /// Mean NLL per token (nil before any token).
    public var meanNLL: Double? { tokenCount > 0 ? totalNLL / Double(tokenCount) : nil }

    /// Perplexity, `exp(mean NLL)` (nil before any token).
    public var perplexity: Double? { meanNLL.map(Self.perplexity(meanNLL:)) }

    /// `exp(meanNLL)`.
    public static func perplexity(meanNLL: Double) -> Double { exp(meanNLL) }
}
