import Model
import Tensor

/// What an objective sees of one micro-batch: the model, the batch, how to normalise, and the
/// student's logits at the target positions (computed once and shared by every term that needs them).
public final class ObjectiveContext {
    /// The model being trained (the student).
    public let model: any CausalLanguageModel
    /// The micro-batch.
    public let batch: TrainingBatch
    /// Target tokens in the whole optimizer step: per-token terms divide their sums by this.
    public let normalizer: Float
    /// This micro-batch's share of the step's targets (its target count / ``normalizer``); the
    /// shares of a step's micro-batches sum to 1, so per-step terms scale by it.
    public let stepShare: Float
    /// The trainable parameters, by path.
    public let parameters: [(name: String, parameter: Parameter)]
    /// 0-based index of this micro-batch since training began (step × accumulation + position).
    public let microBatchIndex: Int
    /// Flat positions (b·T + t) of the batch whose next token is a target
    /// (``TrainingBatch/nextTokenTargets``).
    public let targetRows: [Int]
    /// The token each of ``targetRows`` must predict.
    public let targets: [Int32]
    private var cachedLogits: Tensor?

    /// A context for `batch`.
    public init(model: any CausalLanguageModel, batch: TrainingBatch, normalizer: Float,
                parameters: [(name: String, parameter: Parameter)], microBatchIndex: Int = 0) {
        self.model = model
        self.batch = batch
        self.normalizer = normalizer
        self.parameters = parameters
        self.microBatchIndex = microBatchIndex
        let next = batch.nextTokenTargets
        targetRows = next.positions
        targets = next.tokens
        stepShare = normalizer > 0 ? Float(targetRows.count) / normalizer : 0
    }

    /// The model input for this batch, producing logits at `logits` (positions and packing segments included).
    public func input(logits: LogitsSelection) -> ModelInput {
        batch.modelInput(logits: logits)
    }

    /// The student's logits [targets, V] at ``targetRows``, recorded for autodiff; computed on first use.
    public func studentLogits() throws -> Tensor {
        if let cachedLogits { return cachedLogits }
        let logits = try model.forward(input(logits: .rows(targetRows)), cache: nil)
        cachedLogits = logits
        return logits
    }
}
