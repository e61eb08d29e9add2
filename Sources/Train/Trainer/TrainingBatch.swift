import Model
import Tensor

/// One micro-batch: B rows of T token ids with their next-token targets.
///
/// `labels[b·T + t]` is the token that position t of row b must predict (already shifted: usually
/// `inputIDs[b·T + t + 1]`), or ``Tensor/ignoreIndex`` where there is no target (prompt, padding,
/// the last position). Rows are right-padded.
public struct TrainingBatch: Sendable, Equatable {
    /// Token ids, row-major [B, T].
    public var inputIDs: [Int32]
    /// Targets aligned with `inputIDs`.
    public var labels: [Int32]
    /// B.
    public var batchSize: Int
    /// Tokens that are not padding.
    public var realTokenCount: Int

    /// A batch; `realTokenCount` defaults to every position.
    public init(inputIDs: [Int32], labels: [Int32], batchSize: Int, realTokenCount: Int? = nil) {
        self.inputIDs = inputIDs
        self.labels = labels
        self.batchSize = batchSize
        self.realTokenCount = realTokenCount ?? inputIDs.count
    }

    /// T.
    public var sequenceLength: Int { batchSize == 0 ? 0 : inputIDs.count / batchSize }

    /// Positions with a target.
    public var targetCount: Int { labels.reduce(0) { $0 + ($1 == Tensor.ignoreIndex ? 0 : 1) } }

    /// The model input for this batch, computing logits at `logits`.
    public func modelInput(logits: LogitsSelection) -> ModelInput {
        ModelInput(tokens: inputIDs, batchSize: batchSize, logits: logits)
    }
}

/// A source of micro-batches whose order depends only on the epoch and a seed, so training is
/// reproducible and can resume mid-epoch.
public protocol TrainingBatches: Sendable {
    /// The micro-batches of `epoch` (0-based), shuffled with `seed` when the source shuffles.
    func batches(epoch: Int, seed: UInt64) -> [TrainingBatch]
}

/// A fixed list of batches, in order, every epoch.
public struct FixedBatches: TrainingBatches {
    /// The batches.
    public var items: [TrainingBatch]
    /// Wraps batches.
    public init(_ items: [TrainingBatch]) { self.items = items }
    public func batches(epoch: Int, seed: UInt64) -> [TrainingBatch] { items }
}
