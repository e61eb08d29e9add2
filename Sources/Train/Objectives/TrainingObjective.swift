import Model
import Tensor

/// A training loss the ``Trainer`` minimises, evaluated one micro-batch at a time.
///
/// The trainer calls ``prepare(model:parameters:)`` once, then ``loss(in:)`` for every micro-batch
/// and back-propagates the returned scalar. Per-token terms divide their summed token losses by
/// ``ObjectiveContext/normalizer`` (the target count of the whole optimizer step), so k
/// accumulated micro-batches equal one large batch; per-step terms (parameter penalties) scale by
/// ``ObjectiveContext/stepShare`` so they count once per optimizer step.
///
/// Implementations: ``CrossEntropyObjective`` (the default), ``DistillationObjective``,
/// ``EWCObjective``, ``L2SPObjective``, ``AuxiliaryCrossEntropyObjective``, combined by
/// ``WeightedObjective``.
public protocol TrainingObjective {
    /// Short name of the term in step records and logs ("ce", "kl", "ewc").
    var name: String { get }

    /// Checks the objective against the model and its trainable parameters (by path) and captures
    /// whatever it needs before training starts; throws ``ObjectiveError`` when they do not fit.
    func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws

    /// The differentiable scalar loss of one micro-batch, with the value of every term.
    func loss(in context: ObjectiveContext) throws -> ObjectiveValue

    /// Tensors the objective captured that a checkpoint must keep so a resumed run computes the
    /// same loss (``L2SPObjective``'s start point), by name.
    func checkpointTensors() -> [String: Tensor]

    /// Takes back what ``checkpointTensors()`` returned when a run resumes; throws
    /// ``ObjectiveError/parameterMismatch(tensor:reason:)`` without changing anything when they do
    /// not fit.
    func restore(checkpointTensors: [String: Tensor]) throws
}

extension TrainingObjective {
    /// Default: nothing to check or capture.
    public func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws {}

    /// Default: no state of its own.
    public func checkpointTensors() -> [String: Tensor] { [:] }

    /// Default: nothing to restore (tensors of another objective are ignored).
    public func restore(checkpointTensors: [String: Tensor]) throws {}
}

/// An objective's result for one micro-batch.
public struct ObjectiveValue {
    /// The differentiable scalar to back-propagate.
    public var loss: Tensor
    /// The value of each named term (unweighted), in order; a single objective has one term.
    public var terms: [(name: String, value: Float)]

    /// A value whose only term is the loss itself.
    public init(_ loss: Tensor, name: String) {
        self.loss = loss
        self.terms = [(name, loss.item)]
    }

    /// A value with explicit terms.
    public init(loss: Tensor, terms: [(name: String, value: Float)]) {
        self.loss = loss
        self.terms = terms
    }
}
