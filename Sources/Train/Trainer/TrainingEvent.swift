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
