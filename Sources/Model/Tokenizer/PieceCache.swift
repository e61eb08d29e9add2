import Foundation

/// A bounded cache from pre-token bytes to their token ids, shared by copies of a tokenizer and
/// safe to use from several threads (a lock guards it).
///
/// Direct-mapped with fixed-size slots in flat buffers: each piece hashes to one slot and replaces
/// whatever was there, so memory stays bounded (about 4 MB) and neither lookups nor stores allocate.
/// Pieces longer than `maximumPieceLength` bytes or with more than `maximumIDCount` ids are not cached.
final class PieceCache: @unchecked Sendable {
    /// Longest piece (in bytes) that is cached.
    static let maximumPieceLength = 32
    /// Most ids a cached piece may have.
    static let maximumIDCount = 8

    private let slotCount: Int
    private let lock = NSLock()
    /// Per slot: the piece's hash, or 0 when the slot is empty.
    private let hashes: UnsafeMutablePointer<UInt64>
    /// Per slot: piece length and id count.
    private let lengths: UnsafeMutablePointer<UInt8>
    private let idCounts: UnsafeMutablePointer<UInt8>
    private let keys: UnsafeMutablePointer<UInt8>
    private let ids: UnsafeMutablePointer<Int32>

    /// A cache with `1 << slotBits` slots.
    init(slotBits: Int = 16) {
        slotCount = 1 << slotBits
        hashes = .allocate(capacity: slotCount)
        hashes.initialize(repeating: 0, count: slotCount)
        lengths = .allocate(capacity: slotCount)
        lengths.initialize(repeating: 0, count: slotCount)
        idCounts = .allocate(capacity: slotCount)
        idCounts.initialize(repeating: 0, count: slotCount)
        keys = .allocate(capacity: slotCount * Self.maximumPieceLength)
        keys.initialize(repeating: 0, count: slotCount * Self.maximumPieceLength)
        ids = .allocate(capacity: slotCount * Self.maximumIDCount)
        ids.initialize(repeating: 0, count: slotCount * Self.maximumIDCount)
    }

    deinit {
        hashes.deallocate()
        lengths.deallocate()
        idCounts.deallocate()
        keys.deallocate()
        ids.deallocate()
    }

    /// Appends the cached ids of `piece` to `output` and returns true, or returns false.
    func lookup(_ piece: UnsafeBufferPointer<UInt8>, hash: Int, into output: inout [Int]) -> Bool {
        guard let base = piece.baseAddress, piece.count <= Self.maximumPieceLength else { return false }
        let slot = hash & (slotCount - 1)
        let tag = Self.tag(hash)
        lock.lock()
        defer { lock.unlock() }
        guard hashes[slot] == tag, Int(lengths[slot]) == piece.count,
              memcmp(keys + slot * Self.maximumPieceLength, base, piece.count) == 0 else { return false }
        let start = ids + slot * Self.maximumIDCount
        for index in 0..<Int(idCounts[slot]) { output.append(Int(start[index])) }
        return true
    }

    /// Stores the ids of `piece` (ignored when the piece or its ids do not fit a slot).
    func insert(_ piece: UnsafeBufferPointer<UInt8>, hash: Int, ids newIDs: ArraySlice<Int>) {
        guard let base = piece.baseAddress, piece.count <= Self.maximumPieceLength,
              newIDs.count <= Self.maximumIDCount else { return }
        let slot = hash & (slotCount - 1)
        lock.lock()
        defer { lock.unlock() }
        hashes[slot] = Self.tag(hash)
        lengths[slot] = UInt8(piece.count)
        idCounts[slot] = UInt8(newIDs.count)
        (keys + slot * Self.maximumPieceLength).update(from: base, count: piece.count)
        let start = ids + slot * Self.maximumIDCount
        for (index, id) in newIDs.enumerated() { start[index] = Int32(truncatingIfNeeded: id) }
    }

    /// A non-zero tag for a hash (0 marks empty slots).
    @inline(__always)
    private static func tag(_ hash: Int) -> UInt64 { UInt64(bitPattern: Int64(hash)) | 1 }
}
