/// Everything that shapes a training run. `Sendable` and `Codable`, so it can come from a JSON file
/// and be stored in checkpoints.
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    /// Passes over the training data (ignored when `maxSteps` is set).
    public var epochs: Int
    /// Stop after this many optimizer steps.
    public var maxSteps: Int?
    /// Micro-batches per optimizer step.
    public var gradientAccumulationSteps: Int
    /// Peak learning rate.
    public var learningRate: Float
    /// Linear warm-up steps.
    public var warmupSteps: Int
    /// Decay after warm-up.
    public var decay: LearningRateDecay
    /// Final learning rate as a fraction of the peak.
    public var minimumLearningRateRatio: Float
    /// The optimizer.
    public var optimizer: OptimizerKind
    /// Clip the global gradient norm to this (nil: no clipping).
    public var maxGradientNorm: Float?
    /// Evaluate every N optimizer steps (nil: only at the end when eval data is given).
    public var evaluateEvery: Int?
    /// Save a checkpoint every N optimizer steps (nil: never).
    public var saveEvery: Int?
    /// Where checkpoints go.
    public var checkpointDirectory: String?
    /// Stop after this many evaluations without improvement (nil: never).
    public var earlyStoppingPatience: Int?
    /// An improvement must lower the eval loss by more than this.
    public var earlyStoppingMinDelta: Float
    /// Seed for data order (and anything else random the trainer does).
    public var seed: UInt64
    /// Recompute each decoder block's activations in the backward pass instead of keeping them
    /// (less memory for long sequences, about one more forward pass of compute); same gradients.
    public var gradientCheckpointing: Bool

    /// A configuration; every field has a usable default.
    public init(epochs: Int = 1, maxSteps: Int? = nil, gradientAccumulationSteps: Int = 1, learningRate: Float = 2e-4,
                warmupSteps: Int = 0, decay: LearningRateDecay = .cosine, minimumLearningRateRatio: Float = 0,
                optimizer: OptimizerKind = .adamW(), maxGradientNorm: Float? = 1, evaluateEvery: Int? = nil,
                saveEvery: Int? = nil, checkpointDirectory: String? = nil, earlyStoppingPatience: Int? = nil,
                earlyStoppingMinDelta: Float = 0, seed: UInt64 = 42, gradientCheckpointing: Bool = false) {
        self.epochs = epochs
        self.maxSteps = maxSteps
        self.gradientAccumulationSteps = gradientAccumulationSteps
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.decay = decay
        self.minimumLearningRateRatio = minimumLearningRateRatio
        self.optimizer = optimizer
        self.maxGradientNorm = maxGradientNorm
        self.evaluateEvery = evaluateEvery
        self.saveEvery = saveEvery
        self.checkpointDirectory = checkpointDirectory
        self.earlyStoppingPatience = earlyStoppingPatience
        self.earlyStoppingMinDelta = earlyStoppingMinDelta
        self.seed = seed
        self.gradientCheckpointing = gradientCheckpointing
    }

    private enum CodingKeys: String, CodingKey {
        case epochs, maxSteps, gradientAccumulationSteps, learningRate, warmupSteps, decay, minimumLearningRateRatio
        case optimizer, maxGradientNorm, evaluateEvery, saveEvery, checkpointDirectory, earlyStoppingPatience
        case earlyStoppingMinDelta, seed, gradientCheckpointing
    }

    /// Decodes a configuration; `gradientCheckpointing` may be absent (files written before it existed).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decode(Int.self, forKey: .epochs)
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps)
        gradientAccumulationSteps = try c.decode(Int.self, forKey: .gradientAccumulationSteps)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        decay = try c.decode(LearningRateDecay.self, forKey: .decay)
        minimumLearningRateRatio = try c.decode(Float.self, forKey: .minimumLearningRateRatio)
        optimizer = try c.decode(OptimizerKind.self, forKey: .optimizer)
        maxGradientNorm = try c.decodeIfPresent(Float.self, forKey: .maxGradientNorm)
        evaluateEvery = try c.decodeIfPresent(Int.self, forKey: .evaluateEvery)
        saveEvery = try c.decodeIfPresent(Int.self, forKey: .saveEvery)
        checkpointDirectory = try c.decodeIfPresent(String.self, forKey: .checkpointDirectory)
        earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience)
        earlyStoppingMinDelta = try c.decode(Float.self, forKey: .earlyStoppingMinDelta)
        seed = try c.decode(UInt64.self, forKey: .seed)
        gradientCheckpointing = try c.decodeIfPresent(Bool.self, forKey: .gradientCheckpointing) ?? false
    }

    /// Checks the values.
    public func validate() throws {
        func bad(_ s: String) -> TrainingError { .invalidConfiguration(s) }
        guard epochs > 0 || (maxSteps ?? 0) > 0 else { throw bad("epochs or maxSteps must be positive") }
        if let n = maxSteps { guard n > 0 else { throw bad("maxSteps must be positive") } }
        guard gradientAccumulationSteps > 0 else { throw bad("gradientAccumulationSteps must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learningRate must be positive") }
        guard warmupSteps >= 0 else { throw bad("warmupSteps must not be negative") }
        guard minimumLearningRateRatio >= 0, minimumLearningRateRatio <= 1 else { throw bad("minimumLearningRateRatio must be in [0, 1]") }
        if let n = maxGradientNorm { guard n > 0 else { throw bad("maxGradientNorm must be positive") } }
        if let n = evaluateEvery { guard n > 0 else { throw bad("evaluateEvery must be positive") } }
        if let n = earlyStoppingPatience { guard n > 0 else { throw bad("earlyStoppingPatience must be positive") } }
        if let n = saveEvery {
            guard n > 0 else { throw bad("saveEvery must be positive") }
            guard checkpointDirectory != nil else { throw bad("saveEvery needs checkpointDirectory") }
        }
        // PyTorch's checks: betas in [0, 1), epsilon, weight decay and momentum not negative.
        switch optimizer {
        case let .adamW(b1, b2, eps, wd), let .adamW8bit(b1, b2, eps, wd):
            guard b1 >= 0, b1 < 1, b2 >= 0, b2 < 1 else { throw bad("AdamW betas must be in [0, 1), got \(b1) and \(b2)") }
            guard eps >= 0, eps.isFinite else { throw bad("AdamW epsilon must be finite and not negative, got \(eps)") }
            guard wd >= 0, wd.isFinite else { throw bad("weight decay must be finite and not negative, got \(wd)") }
        case let .sgd(momentum, wd):
            guard momentum >= 0, momentum.isFinite else { throw bad("SGD momentum must be finite and not negative, got \(momentum)") }
            guard wd >= 0, wd.isFinite else { throw bad("weight decay must be finite and not negative, got \(wd)") }
        }
    }
}

/// Errors that stop training.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The loss became NaN or infinite.
    case nonFiniteLoss(step: Int, loss: Float)
    /// A setting is invalid.
    case invalidConfiguration(String)
    /// Nothing to train on, or nothing trainable.
    case noData(String)
    /// A checkpoint could not be read or does not fit.
    case badCheckpoint(String)
    /// A batch's labels do not fit its tokens or the model's vocabulary.
    case invalidBatch(String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let s, let l): return "training stopped: loss is \(l) at step \(s)"
        case .invalidConfiguration(let s): return "invalid training configuration: \(s)"
        case .noData(let s): return "cannot train: \(s)"
        case .badCheckpoint(let s): return "bad checkpoint: \(s)"
        case .invalidBatch(let s): return "invalid training batch: \(s)"
        }
    }
}
