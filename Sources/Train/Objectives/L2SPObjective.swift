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

    /// The start point, so a resumed run pulls towards the original one.
    public func checkpointTensors() -> [String: Tensor] { startPoint }

    /// Replaces the start point with a checkpoint's; its paths and shapes must be the current ones.
    public func restore(checkpointTensors tensors: [String: Tensor]) throws {
        guard !tensors.isEmpty else { return }
        for (path, value) in startPoint {
            guard let saved = tensors[path] else { throw ObjectiveError.parameterMismatch(tensor: path, reason: "missing from the checkpoint's L2-SP start point") }
            guard saved.shape == value.shape else {
                throw ObjectiveError.parameterMismatch(tensor: path, reason: "start point has shape \(saved.shape), the parameter \(value.shape)")
            }
        }
        if let extra = tensors.keys.sorted().first(where: { startPoint[$0] == nil }) {
            throw ObjectiveError.parameterMismatch(tensor: extra, reason: "not a trainable parameter of this model")
        }
        startPoint = tensors
    }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        ObjectiveValue(quadraticPenalty(context.parameters, scale: lambda / 2 * context.stepShare) { (startPoint[$0], nil) },
                       name: name)
    }
}
