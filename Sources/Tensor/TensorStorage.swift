import Foundation

/// Immutable-after-construction Float32 buffer shared by tensors.
///
/// A storage is written only by the code that creates it (an op filling its output, a loader
/// copying weights) before it is wrapped in a ``Tensor``; from then on it is read-only, which is
/// what makes sharing it across threads safe. In-place updates (optimizer steps) go through
/// ``Parameter``, which copies the storage first unless it is the only owner.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of elements.
    public let count: Int
    private let release: (@Sendable (UnsafeMutablePointer<Float>) -> Void)?
    /// The block from `malloc` that `base` lies in (nil for wrapped memory).
    private let allocation: UnsafeMutableRawPointer?

    /// Allocates `count` uninitialised elements, 64-byte aligned.
    public init(uninitializedCount count: Int) {
        // malloc plus manual alignment rather than posix_memalign: glibc hands a freed malloc block
        // straight back to the next request of that size, while a posix_memalign/free cycle keeps
        // carving fresh heap pages, so every new tensor used to page-fault its whole buffer.
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        let raw = malloc(bytes + 63) ?? UnsafeMutableRawPointer.allocate(byteCount: bytes + 63, alignment: 16)
        let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: raw) + 63) & ~63)!
        self.base = aligned.bindMemory(to: Float.self, capacity: max(1, count))
        self.count = count
        self.release = nil
        self.allocation = raw
    }

    /// Wraps memory owned elsewhere (for example a memory-mapped file); `release` runs on deinit.
    public init(wrapping base: UnsafeMutablePointer<Float>, count: Int,
                release: @escaping @Sendable (UnsafeMutablePointer<Float>) -> Void) {
        self.base = base
        self.count = count
        self.release = release
        self.allocation = nil
    }

    deinit {
        if let release { release(base) } else { free(allocation) }
    }

    /// A buffer view of the whole storage.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}
