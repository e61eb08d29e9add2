import Tensor

/// Groups tokenized examples into ``TrainingBatch``es, reproducibly for a given seed and epoch.
///
/// - Padded (default): one example per row. With `groupByLength`, the seeded shuffle is cut into
///   windows of `batchSize × lengthGroupWindow` examples, each window is sorted by length and cut
///   into batches, and the batch order is shuffled — similar lengths share a batch, but which
///   examples meet still changes every epoch.
/// - Packed: examples are placed into rows of at most `maxSequenceLength` tokens, best-fit
///   decreasing (longest first, each into the fullest row it still fits), rows shuffled, then
///   `batchSize` rows per batch. See ``TrainingBatch`` for how boundaries are handled.
public struct Batcher: TrainingBatches {
    /// The examples being batched.
    public let examples: [TokenizedExample]
    /// Batching settings.
    public let options: BatchingOptions
    /// Longest row (packing capacity).
    public let maxSequenceLength: Int
    /// Token id used for padding.
    public let padTokenID: Int
    /// Seed for the per-epoch shuffles.
    public let seed: UInt64

    /// Checks the examples (labels as long as inputs, none empty or longer than
    /// `maxSequenceLength`) and the options.
    public init(examples: [TokenizedExample], options: BatchingOptions, maxSequenceLength: Int,
                padTokenID: Int, seed: UInt64) throws {
        try options.validate()
        guard maxSequenceLength >= 1 else {
            throw DataError.invalidConfiguration("maxSequenceLength must be positive (got \(maxSequenceLength))")
        }
        for (i, example) in examples.enumerated() {
            guard example.labels.count == example.inputIDs.count else {
                throw DataError.invalidConfiguration("example \(i): \(example.labels.count) labels for \(example.inputIDs.count) tokens")
            }
            guard example.count >= 1, example.count <= maxSequenceLength else {
                throw DataError.invalidConfiguration("example \(i) has \(example.count) tokens; allowed 1…\(maxSequenceLength)")
            }
        }
        self.examples = examples
        self.options = options
        self.maxSequenceLength = maxSequenceLength
        self.padTokenID = padTokenID
        self.seed = seed
    }

    /// The batches of epoch `epoch` (0-based) shuffled with the batcher's seed; the same epoch
    /// always gives the same batches.
    public func batches(epoch: Int) -> [TrainingBatch] { batches(epoch: epoch, seed: seed) }

    /// The batches of epoch `epoch` shuffled with `seed` (a trainer's seed) instead of the batcher's.
    public func batches(epoch: Int, seed: UInt64) -> [TrainingBatch] {
        rowPlan(epoch: epoch, seed: seed).map { rows in
            TrainingBatch(rows: rows.map { $0.map { examples[$0] } }, padTokenID: padTokenID,
                          padToMultipleOf: options.padToMultipleOf, packed: options.packing)
        }
    }

    /// Example indices per row, per batch.
    func rowPlan(epoch: Int, seed: UInt64? = nil) -> [[[Int]]] {
        var order = Array(examples.indices)
        var rng = SeededRandom(seed: seed ?? self.seed).derived(stream: UInt64(truncatingIfNeeded: epoch))
        if options.shuffle { rng.shuffle(&order) }
        let size = options.batchSize
        var batches: [[[Int]]]
        if options.packing {
            var rows = packRows(order)
            if options.shuffle { rng.shuffle(&rows) }
            batches = chunks(rows, size)
        } else if options.groupByLength {
            batches = []
            for window in chunks(order, size * options.lengthGroupWindow) {
                let sorted = window.enumerated().sorted { a, b in
                    let la = examples[a.element].count, lb = examples[b.element].count
                    return la != lb ? la > lb : a.offset < b.offset
                }.map(\.element)
                batches += chunks(sorted, size).map { $0.map { [$0] } }
            }
            if options.shuffle { rng.shuffle(&batches) }
        } else {
            batches = chunks(order, size).map { $0.map { [$0] } }
        }
        if options.dropLast { batches.removeAll { $0.count < size } }
        return batches
    }

    /// Number of batches per epoch.
    public var batchesPerEpoch: Int { rowPlan(epoch: 0).count }

    /// Best-fit decreasing bin packing into rows of `maxSequenceLength` tokens.
    func packRows(_ order: [Int]) -> [[Int]] {
        let capacity = maxSequenceLength
        let sorted = order.enumerated().sorted { a, b in
            let la = examples[a.element].count, lb = examples[b.element].count
            return la != lb ? la > lb : a.offset < b.offset
        }.map(\.element)
        var rows: [[Int]] = []
        var rowsByFreeSpace = [[Int]](repeating: [], count: capacity + 1)
        for index in sorted {
            let length = examples[index].count
            var free = length
            while free <= capacity, rowsByFreeSpace[free].isEmpty { free += 1 }
            if free <= capacity, let row = rowsByFreeSpace[free].popLast() {
                rows[row].append(index)
                rowsByFreeSpace[free - length].append(row)
            } else {
                rows.append([index])
                rowsByFreeSpace[capacity - length].append(rows.count - 1)
            }
        }
        return rows
    }

    private func chunks<T>(_ items: [T], _ size: Int) -> [[T]] {
        stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }
}
