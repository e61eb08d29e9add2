/// Moving cache rows between caches, for continuous batching: sequences join and leave a running
/// batch between decode steps, so the batch's cache is rebuilt from the rows that stay and the
/// caches of the rows that join.
extension KVCache {
    /// The valid positions `start..<cache.length` of one row of a cache.
    public struct RowSlice {
        /// The cache holding the row.
        public let cache: KVCache
        /// The row in `cache`.
        public let row: Int
        /// The row's first valid position (its key start; earlier positions are padding).
        public let start: Int

        /// A slice of `cache`'s row `row` from `start` to the cache's length.
        public init(cache: KVCache, row: Int, start: Int = 0) {
            self.cache = cache
            self.row = row
            self.start = start
        }

        /// Number of positions in the slice.
        public var count: Int { max(0, cache.length - start) }
    }

    /// A cache with one row per slice, each right-aligned so that every row ends at the new length
    /// (the longest slice): row i's valid positions begin at `length - slices[i].count`, its key start.
    /// All slices must come from caches with this cache's layer count and head sizes.
    ///
    /// - Parameter extraCapacity: positions to leave free past the new length before the next growth.
    public convenience init(gathering slices: [RowSlice], extraCapacity: Int = 16) throws {
        guard let first = slices.first?.cache else { throw KVCacheError.incompatible("no rows to gather") }
        for s in slices {
            guard s.cache.layerCount == first.layerCount, s.cache.kvHeads == first.kvHeads,
                  s.cache.headDimension == first.headDimension else {
                throw KVCacheError.incompatible("caches of different shapes")
            }
            guard s.row >= 0, s.row < s.cache.batchSize, s.start >= 0 else {
                throw KVCacheError.incompatible("row \(s.row) from \(s.start) is outside a \(s.cache.batchSize)-row cache")
            }
        }
        let length = slices.map(\.count).max() ?? 0
        self.init(layers: first.layerCount, batchSize: slices.count, kvHeads: first.kvHeads,
                  headDimension: first.headDimension, capacity: length + max(1, extraCapacity))
        let row = rowStride
        for layer in 0..<layerCount {
            let (dstK, dstV) = buffers(layer: layer)
            for (i, s) in slices.enumerated() where s.count > 0 {
                let (srcK, srcV) = s.cache.buffers(layer: layer)
                let src = s.row * s.cache.batchStride + s.start * row
                let dst = i * batchStride + (length - s.count) * row
                (dstK + dst).update(from: srcK + src, count: s.count * row)
                (dstV + dst).update(from: srcV + src, count: s.count * row)
            }
        }
        advance(by: length)
    }

    /// Bytes of key and value storage held (allocated capacity, not only the filled length).
    public var byteCount: Int {
        2 * layerCount * batchSize * capacity * kvHeads * headDimension * MemoryLayout<Float>.stride
    }
}

/// Errors from rearranging caches.
public enum KVCacheError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The rows cannot be combined.
    case incompatible(String)

    public var description: String {
        switch self {
        case .incompatible(let reason): "cannot gather cache rows: \(reason)"
        }
    }
}
