import Model
import Tensor

/// One micro-batch: B rows of T token ids with their next-token targets.
///
/// `labels[b·T + t]` is the token that position t of row b must predict (already shifted: usually
/// `inputIDs[b·T + t + 1]`), or ``Tensor/ignoreIndex`` where there is no target (prompt, padding,
/// the last position). Rows are right-padded.
///
/// A packed batch (several examples back to back in a row) also carries each token's position
/// within its own example and the example it belongs to; the models then attend only within an
/// example, so a packed batch gives the losses and gradients of the same examples unpacked.
public struct TrainingBatch: Sendable, Equatable {
    /// Token ids, row-major [B, T].
    public var inputIDs: [Int32]
    /// Targets aligned with `inputIDs`.
    public var labels: [Int32]
    /// B.
    public var batchSize: Int
    /// Tokens that are not padding.
    public var realTokenCount: Int
    /// Packed rows: each token's position within its example ([B, T]); nil: 0…T−1 in every row.
    public var positions: [Int32]?
    /// Packed rows: the example each token belongs to ([B, T]); nil: one example per row.
    public var segments: [Int32]?

    /// A batch; `realTokenCount` defaults to every position.
    public init(inputIDs: [Int32], labels: [Int32], batchSize: Int, realTokenCount: Int? = nil,
                positions: [Int32]? = nil, segments: [Int32]? = nil) {
        self.inputIDs = inputIDs
        self.labels = labels
        self.batchSize = batchSize
        self.realTokenCount = realTokenCount ?? inputIDs.count
        self.positions = positions
        self.segments = segments
    }

    /// T.
    public var sequenceLength: Int { batchSize == 0 ? 0 : inputIDs.count / batchSize }

    /// Positions with a target.
    public var targetCount: Int { labels.reduce(0) { $0 + ($1 == Tensor.ignoreIndex ? 0 : 1) } }

    /// The model input for this batch, computing logits at `logits`.
    public func modelInput(logits: LogitsSelection) -> ModelInput {
        ModelInput(tokens: inputIDs, batchSize: batchSize, positions: positions, segments: segments, logits: logits)
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
