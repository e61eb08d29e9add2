/// How tokenized examples are grouped into batches. `Codable` with every key optional.
public struct BatchingOptions: Sendable, Codable, Hashable {
    /// Rows per batch.
    public var batchSize: Int
    /// Concatenate several examples per row up to the maximum sequence length (see ``Batcher``)
    /// instead of one padded example per row.
    public var packing: Bool
    /// Put examples of similar length together to waste less padding.
    public var groupByLength: Bool
    /// Shuffle (seeded) every epoch; otherwise keep dataset order.
    public var shuffle: Bool
    /// With length grouping, examples are sorted by length within windows of
    /// `batchSize × lengthGroupWindow` shuffled examples.
    public var lengthGroupWindow: Int
    /// Round each batch's sequence length up to a multiple of this.
    public var padToMultipleOf: Int
    /// Drop a final batch with fewer than `batchSize` rows.
    public var dropLast: Bool

    /// Creates options; every parameter has a default.
    public init(batchSize: Int = 4, packing: Bool = false, groupByLength: Bool = true, shuffle: Bool = true,
                lengthGroupWindow: Int = 16, padToMultipleOf: Int = 1, dropLast: Bool = false) {
        self.batchSize = batchSize
        self.packing = packing
        self.groupByLength = groupByLength
        self.shuffle = shuffle
        self.lengthGroupWindow = lengthGroupWindow
        self.padToMultipleOf = padToMultipleOf
        self.dropLast = dropLast
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BatchingOptions()
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        packing = try c.decodeIfPresent(Bool.self, forKey: .packing) ?? d.packing
        groupByLength = try c.decodeIfPresent(Bool.self, forKey: .groupByLength) ?? d.groupByLength
        shuffle = try c.decodeIfPresent(Bool.self, forKey: .shuffle) ?? d.shuffle
        lengthGroupWindow = try c.decodeIfPresent(Int.self, forKey: .lengthGroupWindow) ?? d.lengthGroupWindow
        padToMultipleOf = try c.decodeIfPresent(Int.self, forKey: .padToMultipleOf) ?? d.padToMultipleOf
        dropLast = try c.decodeIfPresent(Bool.self, forKey: .dropLast) ?? d.dropLast
    }

    /// Throws ``DataError/invalidConfiguration(_:)`` for out-of-range settings.
    public func validate() throws {
        guard batchSize >= 1 else { throw DataError.invalidConfiguration("batchSize must be at least 1 (got \(batchSize))") }
        guard lengthGroupWindow >= 1 else { throw DataError.invalidConfiguration("lengthGroupWindow must be at least 1") }
        guard padToMultipleOf >= 1 else { throw DataError.invalidConfiguration("padToMultipleOf must be at least 1") }
    }
}
