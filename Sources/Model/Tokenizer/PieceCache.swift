import Foundation

/// A bounded cache from pre-token bytes to their token ids, shared by copies of a tokenizer and
/// safe to use from several threads (a lock guards it).
///
/// Direct-mapped: each piece hashes to one slot and replaces whatever was there, so memory stays
/// bounded without bookkeeping. Lookups do not allocate.
final class PieceCache: @unchecked Sendable {
    /// Pieces longer than this are not cached.
    static let maximumPieceLength = 64

    private struct Slot {
        var key: [UInt8]
        var ids: [Int32]
    }

    private let lock = NSLock()
    private var slots: [Slot?]
    private let mask: Int

    /// A cache with `1 << slotBits` slots.
    init(slotBits: Int = 16) {
        slots = [Slot?](repeating: nil, count: 1 << slotBits)
        mask = (1 << slotBits) - 1
    }

    /// Appends the cached ids of `piece` to `output` and returns true, or returns false.
    func lookup(_ piece: UnsafeBufferPointer<UInt8>, hash: Int, into output: inout [Int]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = slots[hash & mask], slot.key.count == piece.count else { return false }
        let equal = slot.key.withUnsafeBufferPointer { key in
            piece.count == 0 || memcmp(key.baseAddress!, piece.baseAddress!, piece.count) == 0
        }
        guard equal else { return false }
        for id in slot.ids { output.append(Int(id)) }
        return true
    }

    /// Stores the ids of `piece`.
    func insert(_ piece: UnsafeBufferPointer<UInt8>, hash: Int, ids: ArraySlice<Int>) {
        let slot = Slot(key: Array(piece), ids: ids.map { Int32(truncatingIfNeeded: $0) })
        lock.lock()
        slots[hash & mask] = slot
        lock.unlock()
    }
}
