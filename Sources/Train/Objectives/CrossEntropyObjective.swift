import Tensor

/// Next-token cross-entropy on the batch's targets: Σ −log p(target) / normalizer.
public struct CrossEntropyObjective: TrainingObjective {
    public let name: String

    /// The objective, logged as `name`.
    public init(name: String = "ce") { self.name = name }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        ObjectiveValue(try context.studentCrossEntropy(), name: name)
    }
}
