import Model
import Tensor

/// Elastic weight consolidation: λ/2 · Σ F · (θ − θ*)² over the trainable parameters, with F the
/// diagonal Fisher and θ* the anchor of a ``FisherInformation`` — parameters that mattered for the
/// reference data are held close to their old values. Counted once per optimizer step.
public struct EWCObjective: TrainingObjective {
    /// Fisher and anchor, by parameter path (must cover exactly the trainable parameters).
    public let information: FisherInformation
    /// λ ≥ 0.
    public let lambda: Float
    public let name: String

    /// A penalty from estimated or loaded Fisher information.
    public init(information: FisherInformation, lambda: Float, name: String = "ewc") {
        self.information = information
        self.lambda = lambda
        self.name = name
    }

    public func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws {
        guard lambda >= 0, lambda.isFinite else { throw ObjectiveError.invalidSetting("EWC λ must be non-negative, got \(lambda)") }
        try information.check(against: parameters)
    }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        let penalty = quadraticPenalty(context.parameters, scale: lambda / 2 * context.stepShare) { path in
            (information.anchor[path], information.fisher[path])
        }
        return ObjectiveValue(penalty, name: name)
    }
}

/// scale · Σ over parameters of Σ w · (θ − anchor)², skipping parameters without an anchor.
func quadraticPenalty(_ parameters: [(name: String, parameter: Parameter)], scale: Float,
                      _ lookup: (String) -> (anchor: Tensor?, weights: Tensor?)) -> Tensor {
    var total: Tensor?
    for (name, p) in parameters {
        let (anchor, weights) = lookup(name)
        guard let anchor else { continue }
        let term = Tensor.weightedSquaredDistance(p.tensor, anchor: anchor, weights: weights)
        total = total.map { $0 + term } ?? term
    }
    return (total ?? Tensor(0)) * scale
}
