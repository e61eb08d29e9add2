import Foundation

/// A hash map from byte strings to token ids, looked up straight from a buffer without building
/// a `String` or `Array` key.
struct ByteStringTable: Sendable {
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    private var ids: [Int32] = []
    private var slots: [Int32]
    private var mask: Int

    /// An empty table sized for about `capacity` entries.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// Number of entries.
    var count: Int { ids.count }

    /// Maps `bytes` to `id`, replacing an earlier entry for the same bytes.
    mutating func insert<Bytes: Collection>(_ bytes: Bytes, id: Int32) where Bytes.Element == UInt8 {
        if ids.count * 2 >= slots.count { grow() }
        let key = Array(bytes)
        let slot = key.withUnsafeBufferPointer { findSlot($0) }
        if slots[slot] >= 0 {
            ids[Int(slots[slot])] = id
            return
        }
        slots[slot] = Int32(ids.count)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        ids.append(id)
    }

    /// The id stored for `bytes`, or nil.
    @inline(__always)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let entry = slots[findSlot(bytes)]
        return entry >= 0 ? ids[Int(entry)] : nil
    }

    /// The id stored for the UTF-8 bytes of `text`, or nil.
    func lookup(_ text: String) -> Int32? {
        var text = text
        return text.withUTF8 { lookup($0) }
    }

    /// Slot holding `bytes`, or the empty slot where they would go.
    private func findSlot(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var slot = ByteHash.hash(bytes) & mask
        while true {
            let entry = slots[slot]
            if entry < 0 { return slot }
            let start = starts[Int(entry)]
            let length = starts[Int(entry) + 1] - start
            if length == bytes.count && arena.withUnsafeBufferPointer({ arena in
                guard let stored = arena.baseAddress, let wanted = bytes.baseAddress else { return length == 0 }
                return memcmp(stored + start, wanted, length) == 0
            }) {
                return slot
            }
            slot = (slot + 1) & mask
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for entry in 0..<ids.count {
            let slot = arena.withUnsafeBufferPointer { arena in
                findSlot(UnsafeBufferPointer(rebasing: arena[starts[entry]..<starts[entry + 1]]))
            }
            slots[slot] = Int32(entry)
        }
    }
}

/// A fast non-cryptographic hash of short byte strings.
enum ByteHash {
    /// FNV-1a over the bytes, with a final mix so the low bits are usable as a table index.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        value ^= value >> 29
        value = value &* 0xBF58_476D_1CE4_E5B9
        value ^= value >> 32
        return Int(truncatingIfNeeded: value)
    }
}
