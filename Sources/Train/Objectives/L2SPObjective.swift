import Model
import Tensor

/// L2-SP: λ/2 · ‖θ − θ₀‖² over the trainable parameters, θ₀ their values when training started —
/// the cheap variant of ``EWCObjective`` (every parameter equally important, nothing to estimate).
/// Counted once per optimizer step.
public final class L2SPObjective: TrainingObjective {
    /// λ ≥ 0.
    public let lambda: Float
    public let name: String
    /// θ₀ by path, captured by ``prepare(model:parameters:)``.
    public private(set) var startPoint: [String: Tensor] = [:]

    /// A penalty towards the start point.
    public init(lambda: Float, name: String = "l2sp") {
        self.lambda = lambda
        self.name = name
    }

    public func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws {
        guard lambda >= 0, lambda.isFinite else { throw ObjectiveError.invalidSetting("L2-SP λ must be non-negative, got \(lambda)") }
        // Keep the first start point, so a trainer rebuilt to resume a run still pulls towards it.
        if startPoint.isEmpty {
            startPoint = Dictionary(parameters.map { ($0.name, $0.parameter.value) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        ObjectiveValue(quadraticPenalty(context.parameters, scale: lambda / 2 * context.stepShare) { (startPoint[$0], nil) },
                       name: name)
    }
}
