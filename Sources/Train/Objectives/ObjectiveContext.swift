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
    /// The token each of ``targetRows`` must predict, in the loss ops' index type.
    public let targets: [Int32]
    private var cachedRows: HiddenRows?
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
        // The trainer checks labels against the vocabulary; clamping keeps any other id out of range.
        targets = next.tokens.map { Int32(clamping: $0) }
        stepShare = normalizer > 0 ? Float(targetRows.count) / normalizer : 0
    }

    /// The model input for this batch, producing logits at `logits` (positions and packing segments included).
    public func input(logits: LogitsSelection) -> ModelInput {
        batch.modelInput(logits: logits)
    }

    /// The student's final hidden states [targets, C] at ``targetRows`` and its output head,
    /// recorded for autodiff; computed on first use and shared by every term.
    public func studentRows() throws -> HiddenRows {
        if let cachedRows { return cachedRows }
        let rows = try model.hiddenRows(input(logits: .rows(targetRows)))
        cachedRows = rows
        return rows
    }

    /// The student's logits [targets, V] at ``targetRows``, recorded for autodiff; computed on
    /// first use (terms that only need the cross-entropy use ``studentCrossEntropy()``, which
    /// never holds them whole).
    public func studentLogits() throws -> Tensor {
        if let cachedLogits { return cachedLogits }
        let logits = try studentRows().logits
        cachedLogits = logits
        return logits
    }

    /// Σ −log p(target) / ``normalizer`` of the student (differentiable). Unless another term
    /// already holds the logits, the head and the loss run chunk by chunk
    /// (``HiddenRows/crossEntropy(targets:normalizer:chunkRows:)``), so the [targets, V] logits
    /// never exist whole.
    public func studentCrossEntropy() throws -> Tensor {
        if let cachedLogits { return Tensor.crossEntropy(logits: cachedLogits, targets: targets, normalizer: normalizer) }
        return try studentRows().crossEntropy(targets: targets, normalizer: normalizer)
    }
}
