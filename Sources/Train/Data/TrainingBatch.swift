import Model
import Tensor

/// One micro-batch: B rows of T token ids with their labels, laid out row-major as [B, T] — the
/// one batch type from the data pipeline (``Batcher``) to the loss (``Trainer``, objectives,
/// ``TeacherForcedEvaluator``).
///
/// **Label convention (Hugging Face's, not shifted):** `labels[b·T + t]` is aligned with
/// `inputIDs[b·T + t]` — usually that same token where it is trained, ``TokenizedExample/ignoreIndex``
/// (−100) where it is not (prompt, padding). The loss shifts: the logits at position t of a row
/// are scored against label t + 1 of the same row (``nextTokenTargets``), so a row's first label
/// is never used. Rows are right-padded.
///
/// A packed batch (several examples back to back in a row) also carries each token's position
/// within its own example and the 1-based index of the example it belongs to (0 for padding);
/// the models then attend only within an example, and every example's first label is −100, so a
/// packed batch gives the losses and gradients of the same examples unpacked.
public struct TrainingBatch: Sendable, Hashable {
    /// Token ids, row-major [B, T].
    public var inputIDs: [Int]
    /// Labels aligned with `inputIDs` (not shifted); −100 where no loss is taken.
    public var labels: [Int]
    /// B.
    public var batchSize: Int
    /// Real (non-padding) tokens per row, at the start of each row.
    public var lengths: [Int]
    /// Packed rows: each token's position within its example ([B, T]); nil: 0…T−1 in every row.
    public var positions: [Int]?
    /// Packed rows: the example each token belongs to ([B, T], 1-based, 0 for padding); nil: one
    /// example per row.
    public var segments: [Int]?
    /// Number of examples in the batch (more than `batchSize` when packed).
    public var exampleCount: Int

    /// A batch; `lengths` defaults to full rows and `exampleCount` to one example per row.
    public init(inputIDs: [Int], labels: [Int], batchSize: Int, lengths: [Int]? = nil,
                positions: [Int]? = nil, segments: [Int]? = nil, exampleCount: Int? = nil) {
        self.inputIDs = inputIDs
        self.labels = labels
        self.batchSize = batchSize
        let t = batchSize > 0 ? inputIDs.count / batchSize : 0
        self.lengths = lengths ?? Array(repeating: t, count: max(0, batchSize))
        self.positions = positions
        self.segments = segments
        self.exampleCount = exampleCount ?? max(0, batchSize)
    }

    /// T.
    public var sequenceLength: Int { batchSize <= 0 ? 0 : inputIDs.count / batchSize }

    /// Tokens that are not padding.
    public var realTokenCount: Int { lengths.reduce(0, +) }

    /// Whether rows may hold several examples (per-example positions and segments are given).
    public var isPacked: Bool { segments != nil }

    /// 1 for real tokens, 0 for padding, [B, T] row-major.
    public var attentionMask: [Int] {
        let t = sequenceLength
        var mask = [Int](repeating: 0, count: inputIDs.count)
        for (row, length) in lengths.enumerated() where row < batchSize {
            for i in (row * t)..<(row * t + min(max(length, 0), t)) { mask[i] = 1 }
        }
        return mask
    }

    /// Number of predictions in the loss: labels other than −100 after each row's first position.
    public var targetCount: Int {
        // Counted over the labels as given, so a malformed batch still reaches validation.
        let t = sequenceLength
        guard t > 1 else { return 0 }
        var count = 0
        for i in labels.indices where i % t != 0 && labels[i] != TokenizedExample.ignoreIndex { count += 1 }
        return count
    }

    /// The shift from labels to next-token targets: the flat positions (b·T + t) whose logits are
    /// scored, and the token each must predict (label t + 1 of the same row).
    public var nextTokenTargets: (positions: [Int], tokens: [Int]) {
        let t = sequenceLength
        var positions: [Int] = [], tokens: [Int] = []
        guard t > 1, labels.count == inputIDs.count else { return (positions, tokens) }
        for row in 0..<batchSize {
            for i in (row * t)..<(row * t + t - 1) where labels[i + 1] != TokenizedExample.ignoreIndex {
                positions.append(i)
                tokens.append(labels[i + 1])
            }
        }
        return (positions, tokens)
    }

    /// The model input for this batch, computing logits at `logits`.
    public func modelInput(logits: LogitsSelection) -> ModelInput {
        ModelInput(tokens: inputIDs, batchSize: batchSize, positions: positions, segments: segments, logits: logits)
    }
}

extension TrainingBatch {
    /// Lays out `rows` (each a list of examples placed back to back) padded with `padTokenID` to
    /// the longest row, rounded up to a multiple of `padToMultipleOf`. Packed batches get
    /// per-example positions and segments, and each example's first label becomes −100.
    init(rows: [[TokenizedExample]], padTokenID: Int, padToMultipleOf: Int, packed: Bool) {
        let longest = rows.map { $0.reduce(0) { $0 + $1.count } }.max() ?? 0
        let multiple = max(padToMultipleOf, 1)
        let length = (longest + multiple - 1) / multiple * multiple
        let total = rows.count * length
        var inputs = [Int](repeating: padTokenID, count: total)
        var labels = [Int](repeating: TokenizedExample.ignoreIndex, count: total)
        var positions = [Int](repeating: 0, count: packed ? total : 0)
        var segments = [Int](repeating: 0, count: packed ? total : 0)
        var lengths: [Int] = []
        var examples = 0
        for (r, row) in rows.enumerated() {
            var t = r * length
            for (s, example) in row.enumerated() {
                examples += 1
                for i in 0..<example.count {
                    inputs[t + i] = example.inputIDs[i]
                    labels[t + i] = i == 0 ? TokenizedExample.ignoreIndex : example.labels[i]
                    if packed {
                        positions[t + i] = i
                        segments[t + i] = s + 1
                    }
                }
                t += example.count
            }
            lengths.append(t - r * length)
        }
        self.init(inputIDs: inputs, labels: labels, batchSize: rows.count, lengths: lengths,
                  positions: packed ? positions : nil, segments: packed ? segments : nil, exampleCount: examples)
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
