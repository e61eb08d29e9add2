import Tensor

/// The data pipeline's batches as the trainer consumes them.
///
/// The pipeline's labels are aligned with their own tokens (Hugging Face's convention); the trainer's
/// are next-token targets, so position t's target is label t+1 of the same row. Packed batches keep
/// their per-example positions and example ids, so the model attends within each example only.
/// The order of every epoch comes from the seed the trainer passes (``TrainingConfiguration/seed``).
public struct PipelineBatches: TrainingBatches {
    /// The underlying batcher.
    public let batcher: Batcher

    /// Batches of `examples`, grouped as `config.batching` says, right-padded with `padID`.
    public init(_ examples: [TokenizedExample], config: DataConfig, padID: Int32, shuffle: Bool) throws {
        var options = config.batching
        options.shuffle = shuffle && options.shuffle
        batcher = try Batcher(examples: examples, options: options, maxSequenceLength: config.maxSequenceLength,
                              padTokenID: padID, seed: config.seed)
    }

    /// The batches of `epoch`, shuffled with `seed`.
    public func batches(epoch: Int, seed: UInt64) -> [TrainingBatch] {
        batcher.batches(epoch: epoch, seed: seed).map(TrainingBatch.init(nextTokenTargetsOf:))
    }

    /// Target tokens over one epoch.
    public var targetCount: Int { batcher.examples.reduce(0) { $0 + $1.targetTokenCount } }

    /// Non-padding tokens over one epoch.
    public var tokenCount: Int { batcher.examples.reduce(0) { $0 + $1.inputIDs.count } }
}

extension TrainingBatch {
    /// A trainer batch from a pipeline batch: labels shifted one position left within each row.
    public init(nextTokenTargetsOf b: Batch) {
        var targets = [Int32](repeating: Tensor.ignoreIndex, count: b.labels.count)
        let t = b.sequenceLength
        for row in 0..<b.batchSize where t > 1 {
            for i in (row * t)..<(row * t + t - 1) { targets[i] = b.labels[i + 1] }
        }
        self.init(inputIDs: b.inputIDs, labels: targets, batchSize: b.batchSize, realTokenCount: b.lengths.reduce(0, +),
                  positions: b.isPacked ? b.positionIDs : nil, segments: b.isPacked ? b.sequenceIDs : nil)
    }
}
