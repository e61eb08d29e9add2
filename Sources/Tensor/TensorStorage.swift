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

    /// Allocates `count` uninitialised elements, 64-byte aligned.
    public init(uninitializedCount count: Int) {
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        if posix_memalign(&raw, 64, bytes) != 0 || raw == nil {
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        }
        self.base = raw!.bindMemory(to: Float.self, capacity: max(1, count))
        self.count = count
        self.release = nil
    }

    /// Wraps memory owned elsewhere (for example a memory-mapped file); `release` runs on deinit.
    public init(wrapping base: UnsafeMutablePointer<Float>, count: Int,
                release: @escaping @Sendable (UnsafeMutablePointer<Float>) -> Void) {
        self.base = base
        self.count = count
        self.release = release
    }

    deinit {
        if let release { release(base) } else { free(base) }
    }

    /// A buffer view of the whole storage.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}
