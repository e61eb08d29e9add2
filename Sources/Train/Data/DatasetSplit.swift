import Tensor

/// A reproducible train/validation split of `count` items.
public struct DatasetSplit: Sendable, Hashable {
    /// Indices of the training items, ascending.
    public var train: [Int]
    /// Indices of the validation items, ascending.
    public var validation: [Int]

    /// Shuffles `0..<count` with ``SeededRandom`` seeded by `seed` and puts the first
    /// `round(count × validationFraction)` indices in validation (at least one item stays in
    /// training when `count > 0`). The same count, fraction and seed always give the same split.
    public init(count: Int, validationFraction: Double, seed: UInt64) {
        var order = Array(0..<max(count, 0))
        var rng = SeededRandom(seed: seed)
        rng.shuffle(&order)
        let fraction = min(max(validationFraction, 0), 1)
        let validationCount = min(Int((Double(order.count) * fraction).rounded()), max(order.count - 1, 0))
        validation = order.prefix(validationCount).sorted()
        train = order.dropFirst(validationCount).sorted()
    }
}
