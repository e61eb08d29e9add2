import Model
import Tensor

/// A weighted sum of objectives, e.g. 0.6 × task cross-entropy + 0.3 × a domain term + 0.1 × KL to
/// a teacher. Every term's (unweighted) value is reported separately.
///
/// ```swift
/// let objective = try WeightedObjective([
///     (0.6, CrossEntropyObjective()),
///     (0.3, AuxiliaryCrossEntropyObjective(data: domainBatches)),
///     (0.1, DistillationObjective(teacher: .base, temperature: 2)),
/// ])
/// ```
public struct WeightedObjective: TrainingObjective {
    /// The weighted terms, in order.
    public let terms: [(weight: Float, objective: any TrainingObjective)]
    public let name: String

    /// Combines `terms`; throws ``ObjectiveError/invalidWeights(_:)`` unless every weight is finite
    /// and non-negative and they sum to a positive number, and ``ObjectiveError/invalidSetting(_:)``
    /// when two terms share a name.
    public init(_ terms: [(weight: Float, objective: any TrainingObjective)], name: String = "weighted") throws {
        let weights = terms.map(\.weight)
        guard !weights.isEmpty, weights.allSatisfy({ $0.isFinite && $0 >= 0 }), weights.reduce(0, +) > 0 else {
            throw ObjectiveError.invalidWeights(weights)
        }
        let names = terms.map(\.objective.name)
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw ObjectiveError.invalidSetting("two terms are named \"\(dup)\"; give them distinct names")
        }
        self.terms = terms
        self.name = name
    }

    public func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws {
        for term in terms { try term.objective.prepare(model: model, parameters: parameters) }
    }

    /// Every term's checkpoint tensors, prefixed with the term's name and a dot.
    public func checkpointTensors() -> [String: Tensor] {
        var all: [String: Tensor] = [:]
        for term in terms {
            for (key, tensor) in term.objective.checkpointTensors() { all["\(term.objective.name).\(key)"] = tensor }
        }
        return all
    }

    /// Hands each term the tensors under its name.
    public func restore(checkpointTensors tensors: [String: Tensor]) throws {
        for term in terms {
            let prefix = term.objective.name + "."
            var mine: [String: Tensor] = [:]
            for (key, tensor) in tensors where key.hasPrefix(prefix) { mine[String(key.dropFirst(prefix.count))] = tensor }
            try term.objective.restore(checkpointTensors: mine)
        }
    }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        var total: Tensor?
        var values: [(name: String, value: Float)] = []
        for term in terms where term.weight > 0 {
            let v = try term.objective.loss(in: context)
            let weighted = v.loss * term.weight
            total = total.map { $0 + weighted } ?? weighted
            values += v.terms
        }
        // Zero-weight terms are skipped, but at least one weight is positive.
        return ObjectiveValue(loss: total ?? Tensor(0), terms: values)
    }
}
