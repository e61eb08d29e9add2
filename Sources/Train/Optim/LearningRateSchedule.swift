import Foundation

/// How the learning rate changes over training: linear warm-up, then a decay shape.
public enum LearningRateDecay: String, Sendable, Codable {
    /// Half-cosine from the peak to `minimumRatio`·peak.
    case cosine
    /// Straight line from the peak to `minimumRatio`·peak.
    case linear
    /// Stays at the peak.
    case constant
}

/// A learning-rate schedule as a plain function of the optimizer step.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    /// Peak learning rate.
    public var peak: Float
    /// Steps of linear warm-up from 0 to the peak.
    public var warmupSteps: Int
    /// Total optimizer steps.
    public var totalSteps: Int
    /// Decay after warm-up.
    public var decay: LearningRateDecay
    /// Final rate as a fraction of the peak.
    public var minimumRatio: Float

    /// A schedule.
    public init(peak: Float, warmupSteps: Int = 0, totalSteps: Int, decay: LearningRateDecay = .cosine, minimumRatio: Float = 0) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
        self.minimumRatio = minimumRatio
    }

    /// The rate for 0-based optimizer step `step`, step for step as transformers'
    /// `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup`,
    /// `get_constant_schedule_with_warmup` and (with `minimumRatio`)
    /// `get_cosine_with_min_lr_schedule_with_warmup`: warm-up rises as peak·step/warmupSteps (so
    /// step 0 has rate 0 when there is warm-up) and reaches the peak at step `warmupSteps`; the decay
    /// reaches `minimumRatio`·peak at step `totalSteps` and stays there.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step) / Float(max(1, warmupSteps)) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        let floor = Double(peak * minimumRatio), top = Double(peak)
        switch decay {
        case .constant: return peak
        case .linear: return Float(floor + (top - floor) * (1 - progress))
        case .cosine: return Float(floor + (top - floor) * 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
