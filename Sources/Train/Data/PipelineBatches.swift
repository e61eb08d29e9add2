/// The data pipeline's batches as the trainer consumes them: a ``Batcher`` set up from a
/// ``DataConfig``.
///
/// Packed batches keep their per-example positions and example ids, so the model attends within
/// each example only. The order of every epoch comes from the seed the trainer passes
/// (``TrainingConfiguration/seed``).
public struct PipelineBatches: TrainingBatches {
    /// The underlying batcher.
    public let batcher: Batcher

    /// Batches of `examples`, grouped as `config.batching` says, right-padded with `padID`.
    public init(_ examples: [TokenizedExample], config: DataConfig, padID: Int, shuffle: Bool) throws {
        var options = config.batching
        options.shuffle = shuffle && options.shuffle
        batcher = try Batcher(examples: examples, options: options, maxSequenceLength: config.maxSequenceLength,
                              padTokenID: padID, seed: config.seed)
    }

    /// The batches of `epoch`, shuffled with `seed`.
    public func batches(epoch: Int, seed: UInt64) -> [TrainingBatch] { batcher.batches(epoch: epoch, seed: seed) }

    /// Target tokens over one epoch.
    public var targetCount: Int { batcher.examples.reduce(0) { $0 + $1.targetTokenCount } }

    /// Non-padding tokens over one epoch.
    public var tokenCount: Int { batcher.examples.reduce(0) { $0 + $1.inputIDs.count } }
}
