/// A set of Unicode scalars given by ranges and character classes, optionally negated:
/// the compiled form of a bracket expression such as `[^\s\p{L}\p{N}]` or `[A-Za-zµÀ-Ö]`.
struct ScalarSet: Sendable {
    /// Sorted, non-overlapping ranges of scalar values.
    private(set) var ranges: [ClosedRange<UInt32>] = []
    /// Classes whose members belong to the set.
    var classes: ScalarClass = []
    /// Whether membership is inverted.
    var negated = false
    /// Bitmap of the ASCII members of `ranges` (fast path).
    private var asciiLow: UInt64 = 0
    private var asciiHigh: UInt64 = 0

    /// Adds a range of scalar values.
    mutating func insert(_ range: ClosedRange<UInt32>) {
        ranges.append(range)
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for item in ranges {
            if let last = merged.last, item.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, item.upperBound)
            } else {
                merged.append(item)
            }
        }
        ranges = merged
        guard range.lowerBound < 128 else { return }
        for value in range.lowerBound...min(range.upperBound, 127) {
            if value < 64 { asciiLow |= 1 << UInt64(value) } else { asciiHigh |= 1 << UInt64(value - 64) }
        }
    }

    /// Whether the scalar `value` with classes `classBits` is in the set.
    @inline(__always)
    func contains(_ value: UInt32, classBits: UInt8) -> Bool {
        var member = classBits & classes.rawValue != 0
        if !member {
            if value < 64 {
                member = asciiLow & (1 << UInt64(value)) != 0
            } else if value < 128 {
                member = asciiHigh & (1 << UInt64(value - 64)) != 0
            } else {
                member = rangesContain(value)
            }
        }
        return member != negated
    }

    private func rangesContain(_ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < value {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].contains(value)
    }
}
