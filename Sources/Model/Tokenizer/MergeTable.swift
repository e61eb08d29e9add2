/// BPE merge rules keyed by the pair of token ids they join.
///
/// Open addressing on a packed 64-bit key (`left << 32 | right`); the value packs the merge's rank
/// (its line in the merges list, lower merges first) above the id of the merged token, so comparing
/// values compares ranks.
struct MergeTable: Sendable {
    /// Value returned when a pair has no merge; larger than every real value.
    static let none = UInt64.max

    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int
    /// Number of merges stored.
    private(set) var count = 0

    /// An empty table for up to `capacity` merges.
    init(capacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < capacity * 2 { bits += 1 }
        let size = 1 << Int(bits)
        keys = [UInt64](repeating: UInt64.max, count: size)
        values = [UInt64](repeating: Self.none, count: size)
        shift = 64 - bits
        mask = size - 1
    }

    /// Adds the rule `left + right → merged` at `rank`; an earlier rule for the same pair wins.
    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        let key = Self.key(left, right)
        var slot = slotIndex(key)
        while keys[slot] != UInt64.max {
            if keys[slot] == key { return }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        values[slot] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
    }

    /// The packed `rank << 32 | merged` for a pair, or `MergeTable.none`.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = Self.key(left, right)
        return keys.withUnsafeBufferPointer { keys in
            var slot = slotIndex(key)
            while true {
                let stored = keys[slot]
                if stored == key { return values[slot] }
                if stored == UInt64.max { return Self.none }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The merged token id in a packed value.
    @inline(__always)
    static func mergedID(_ value: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: value)) }

    /// The rank in a packed value.
    @inline(__always)
    static func rank(_ value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value >> 32) }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slotIndex(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }
}
