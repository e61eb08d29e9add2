import Tensor

/// Keys and values of past positions, per layer, for incremental decoding.
///
/// Layout per layer: [B, capacity, G, D] (G key/value heads, D head width); position p of row b
/// starts at `(b·capacity + p)·G·D`. The cache grows by doubling when a step needs more room.
/// A cache belongs to one sequence batch and is mutated by the model it is passed to; it is not
/// thread-safe.
public final class KVCache {
    /// Rows.
    public let batchSize: Int
    /// Key/value heads.
    public let kvHeads: Int
    /// Head width.
    public let headDimension: Int
    /// Positions stored so far (the same for every layer once a forward pass completes).
    public private(set) var length = 0
    /// Leading positions that hold a learned prefix's keys and values rather than tokens.
    public internal(set) var prefixLength = 0
    /// Positions that fit before the next growth.
    public private(set) var capacity: Int
    private var keys: [TensorStorage]
    private var values: [TensorStorage]

    /// An empty cache. Negative sizes count as 0; a model refuses a cache whose layers, heads or
    /// head width differ from its own (``CausalLanguageModel/validate(_:)``).
    public init(layers: Int, batchSize: Int, kvHeads: Int, headDimension: Int, capacity: Int = 256) {
        self.batchSize = max(0, batchSize)
        self.kvHeads = max(0, kvHeads)
        self.headDimension = max(0, headDimension)
        self.capacity = max(1, capacity)
        let n = self.batchSize * self.capacity * self.kvHeads * self.headDimension
        keys = (0..<max(0, layers)).map { _ in Self.zeroed(n) }
        values = (0..<max(0, layers)).map { _ in Self.zeroed(n) }
    }

    /// Storage for `count` floats, zeroed: positions a row has not written yet (ahead of a row that
    /// joined a batch late, or left padding) are masked out of attention, and a zero weight times a
    /// stale NaN would still be NaN.
    private static func zeroed(_ count: Int) -> TensorStorage {
        let s = TensorStorage(uninitializedCount: count)
        if count > 0 { s.base.update(repeating: 0, count: count) }
        return s
    }

    /// Number of layers.
    public var layerCount: Int { keys.count }

    /// Floats between consecutive positions of one row.
    var rowStride: Int { kvHeads * headDimension }
    /// Floats between consecutive batch rows.
    var batchStride: Int { capacity * rowStride }

    /// Makes room for `extra` more positions.
    func reserve(_ extra: Int) {
        guard length + extra > capacity else { return }
        var newCapacity = capacity
        while newCapacity < length + extra { newCapacity *= 2 }
        let row = rowStride
        func grow(_ old: TensorStorage) -> TensorStorage {
            let s = Self.zeroed(batchSize * newCapacity * row)
            for b in 0..<batchSize {
                (s.base + b * newCapacity * row).update(from: old.base + b * capacity * row, count: length * row)
            }
            return s
        }
        keys = keys.map(grow)
        values = values.map(grow)
        capacity = newCapacity
    }

    /// Writes k and v [B, T, G, D] of `layer` at positions `length..<length+T`.
    func write(layer: Int, keys k: Tensor, values v: Tensor) {
        let t = k.shape[1], row = rowStride
        k.withUnsafeBufferPointer { kp in
            v.withUnsafeBufferPointer { vp in
                for b in 0..<batchSize {
                    let dst = (b * capacity + length) * row
                    (keys[layer].base + dst).update(from: kp.baseAddress! + b * t * row, count: t * row)
                    (values[layer].base + dst).update(from: vp.baseAddress! + b * t * row, count: t * row)
                }
            }
        }
    }

    /// Key and value buffers of `layer`.
    func buffers(layer: Int) -> (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        (keys[layer].base, values[layer].base)
    }

    /// Records that a forward pass appended `count` positions.
    func advance(by count: Int) { length += count }

    /// Forgets everything after the first `newLength` positions (e.g. to re-run a suffix).
    public func truncate(to newLength: Int) {
        length = min(length, max(0, newLength))
        if length < prefixLength { length = 0; prefixLength = 0 }
    }
}
