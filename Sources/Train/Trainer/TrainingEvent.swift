import Foundation

/// One optimizer step's numbers.
public struct StepRecord: Sendable, Codable, Equatable {
    /// 1-based optimizer step.
    public var step: Int
    /// Total planned steps.
    public var totalSteps: Int
    /// Epoch the step's last micro-batch came from (0-based).
    public var epoch: Int
    /// Mean loss per target token over the step's micro-batches.
    public var loss: Float
    /// Learning rate used.
    public var learningRate: Float
    /// Global gradient norm before clipping.
    public var gradientNorm: Float
    /// Non-padding tokens processed per second in this step.
    public var tokensPerSecond: Double
    /// Seconds since training (or resumption) began.
    public var elapsed: Double
    /// With a composite objective, each term's value over the step (unweighted; empty otherwise).
    public var terms: [String: Float] = [:]

    /// "ce 1.234 · kl 0.567" for the terms, sorted by name (empty without terms).
    public var termSummary: String {
        terms.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: " · ")
    }
}

extension StepRecord {
    private enum CodingKeys: String, CodingKey {
        case step, totalSteps, epoch, loss, learningRate, gradientNorm, tokensPerSecond, elapsed, terms
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        totalSteps = try c.decode(Int.self, forKey: .totalSteps)
        epoch = try c.decode(Int.self, forKey: .epoch)
        loss = try c.decode(Float.self, forKey: .loss)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        gradientNorm = try c.decode(Float.self, forKey: .gradientNorm)
        tokensPerSecond = try c.decode(Double.self, forKey: .tokensPerSecond)
        elapsed = try c.decode(Double.self, forKey: .elapsed)
        terms = try c.decodeIfPresent([String: Float].self, forKey: .terms) ?? [:]
    }
}

/// One evaluation's numbers.
public struct EvaluationRecord: Sendable, Codable, Equatable {
    /// Step after which it ran.
    public var step: Int
    /// Mean loss per target token.
    public var loss: Float
    /// exp(loss).
    public var perplexity: Float
    /// Fraction of targets the argmax predicts.
    public var tokenAccuracy: Float
}

/// What happened during `fit`.
public struct TrainingHistory: Sendable, Codable, Equatable {
    /// Every optimizer step.
    public var steps: [StepRecord] = []
    /// Every evaluation.
    public var evaluations: [EvaluationRecord] = []
    /// Why training ended: "completed", "early stopping", "stopped by host".
    public var stopReason = "completed"

    /// An empty history.
    public init() {}
}

/// Progress reported to the host while training.
public enum TrainingEvent: Sendable {
    /// An optimizer step finished.
    case step(StepRecord)
    /// An evaluation finished.
    case evaluation(EvaluationRecord)
    /// A checkpoint was written.
    case checkpoint(step: Int, path: String)
}

/// The host's answer to an event.
public enum TrainingControl: Sendable {
    /// Keep training.
    case proceed
    /// Stop after this event; `fit` returns the history so far.
    case stop
}
