import Foundation

/// An n-dimensional Float32 tensor: contiguous row-major storage with value semantics.
///
/// Tensors are immutable values. Every op returns a new tensor; reshaping and slicing the
/// leading axis share storage instead of copying. A tensor that depends on a trainable
/// ``Parameter`` carries a node of the autodiff graph, so ``Tensor/gradients(of:)`` can walk back
/// from a loss. Shape legend used in doc comments: B batch, T time, C channels, H heads,
/// D head dimension, V vocabulary.
public struct Tensor: @unchecked Sendable {
    /// Extent of each axis, outermost first.
    public let shape: [Int]
    var storage: TensorStorage
    /// Element offset of this view into `storage`.
    let offset: Int
    /// Autodiff node, present only when the value depends on something that needs a gradient.
    let node: GradNode?

    init(shape: [Int], storage: TensorStorage, offset: Int = 0, node: GradNode? = nil) {
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.node = node
    }

    /// A tensor of `shape` with uninitialised contents, for ops that fill every element.
    static func uninitialized(_ shape: [Int]) -> Tensor {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        return Tensor(shape: shape, storage: TensorStorage(uninitializedCount: shape.reduce(1, *)))
    }

    /// Creates a tensor from row-major values; throws when `values.count` does not match `shape`.
    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.invalidShape(shape) }
        let count = shape.reduce(1, *)
        guard count == values.count else {
            throw TensorError.elementCountMismatch(shape: shape, count: values.count)
        }
        let storage = TensorStorage(uninitializedCount: count)
        values.withUnsafeBufferPointer { src in
            if count > 0 { storage.base.update(from: src.baseAddress!, count: count) }
        }
        self.init(shape: shape, storage: storage)
    }

    /// A rank-0 tensor holding `value`.
    public init(_ value: Float) {
        let storage = TensorStorage(uninitializedCount: 1)
        storage.base.pointee = value
        self.init(shape: [], storage: storage)
    }

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = uninitialized(shape)
        t.storage.base.update(repeating: value, count: t.count)
        return t
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }

    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    /// A tensor whose elements are written by `body` (which must initialise every element).
    public static func build(_ shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor {
        let t = uninitialized(shape)
        try body(UnsafeMutableBufferPointer(start: t.storage.base, count: t.count))
        return t
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of axes.
    public var rank: Int { shape.count }
    /// Whether gradients flow back through this tensor.
    public var requiresGradient: Bool { node != nil }

    /// The elements in row-major order, copied out.
    public var scalars: [Float] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item requires a one-element tensor, got shape \(shape)")
        return storage.base[offset]
    }

    /// Read access to the elements in row-major order.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base + offset, count: count))
    }

    /// Pointer to the first element of this view (read-only by contract).
    var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    /// The same values with no autodiff history.
    public var detached: Tensor { Tensor(shape: shape, storage: storage, offset: offset, node: nil) }

    /// The same values under a new node.
    func attaching(_ node: GradNode?) -> Tensor {
        Tensor(shape: shape, storage: storage, offset: offset, node: node)
    }

    /// Size of `axis`, which may be negative (counted from the end).
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for shape \(shape)")
        return a
    }
}

/// Errors raised when user-supplied data does not form a valid tensor.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// A negative extent in a shape.
    case invalidShape([Int])
    /// The number of values does not match the shape.
    case elementCountMismatch(shape: [Int], count: Int)
    /// Two shapes that must agree do not.
    case shapeMismatch(expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .invalidShape(let s): return "invalid tensor shape \(s)"
        case .elementCountMismatch(let s, let c): return "shape \(s) needs \(s.reduce(1, *)) values, got \(c)"
        case .shapeMismatch(let e, let a): return "shape mismatch: expected \(e), got \(a)"
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = withUnsafeBufferPointer { Array($0.prefix(8)) }
        return "Tensor(shape: \(shape), first: \(preview)\(count > 8 ? ", …" : ""))"
    }
}
