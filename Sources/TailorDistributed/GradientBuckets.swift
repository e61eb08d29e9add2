/// How a list of gradient tensors is laid out in flat buckets of at most `capacity` elements for
/// all-reduce: tensors are packed back to back in order, and a tensor larger than the space left is
/// split across consecutive buckets, so every bucket but the last is full.
struct GradientBuckets: Equatable {
    /// A run of one tensor's elements inside one bucket.
    struct Segment: Equatable {
        /// Index of the tensor in the list.
        var tensor: Int
        /// First element of the run within the tensor.
        var tensorOffset: Int
        /// First element of the run within the bucket.
        var bucketOffset: Int
        /// Elements in the run.
        var count: Int
    }

    /// Each bucket's segments, in order.
    private(set) var buckets: [[Segment]] = []
    /// Each bucket's element count.
    private(set) var sizes: [Int] = []
    /// Each tensor's segments with the bucket they lie in, in element order.
    private(set) var placements: [[Placement]]

    /// Where one segment of a tensor lies.
    struct Placement: Equatable {
        /// The bucket.
        var bucket: Int
        /// The segment within it.
        var segment: Segment
    }

    /// The layout of tensors with `counts` elements in buckets of at most `capacity` (≥ 1) elements.
    init(counts: [Int], capacity: Int) {
        let capacity = max(1, capacity)
        placements = Array(repeating: [], count: counts.count)
        var current: [Segment] = [], filled = 0
        for (tensor, count) in counts.enumerated() {
            var offset = 0
            while offset < count {
                let run = min(count - offset, capacity - filled)
                let segment = Segment(tensor: tensor, tensorOffset: offset, bucketOffset: filled, count: run)
                current.append(segment)
                placements[tensor].append(Placement(bucket: buckets.count, segment: segment))
                offset += run
                filled += run
                if filled == capacity {
                    buckets.append(current)
                    sizes.append(filled)
                    current = []
                    filled = 0
                }
            }
        }
        if filled > 0 {
            buckets.append(current)
            sizes.append(filled)
        }
    }
}
