import Foundation

/// A named, updatable tensor of a model: a weight, a bias, an adapter matrix.
///
/// A parameter is trainable or frozen. A frozen parameter never gets an autodiff node, so no
/// gradient is computed or allocated for it — yet gradients still flow *through* the ops that use
/// it to whatever trainable values lie upstream (what makes LoRA cheap).
public final class Parameter {
    /// The current value (no autodiff history).
    public private(set) var value: Tensor
    /// Whether gradients are computed for this parameter.
    public var isTrainable: Bool
    private lazy var leaf = GradNode(leafFor: self)

    /// Creates a parameter holding `value`.
    public init(_ value: Tensor, trainable: Bool = true) {
        self.value = value.detached
        self.isTrainable = trainable
    }

    /// The value to use in a forward pass: tracked by autodiff when trainable and recording is on.
    public var tensor: Tensor {
        isTrainable && GradientMode.isRecording ? value.attaching(leaf) : value
    }

    /// Shape of the value.
    public var shape: [Int] { value.shape }

    /// Replaces the value; throws when the shape differs.
    public func assign(_ newValue: Tensor) throws {
        guard newValue.shape == value.shape else {
            throw TensorError.shapeMismatch(expected: value.shape, actual: newValue.shape)
        }
        value = newValue.detached
    }

    /// Replaces the value with one of any shape (used when a layer is re-shaped on purpose).
    public func reset(to newValue: Tensor) { value = newValue.detached }

    /// Mutates the elements in place, copying first if another tensor still shares the storage.
    public func update(_ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        if !(value.offset == 0 && value.storage.count == value.count && isKnownUniquelyReferenced(&value.storage)) {
            value = value.copy()
        }
        try body(value.storage.buffer)
    }
}

extension Tensor {
    /// A copy with its own storage.
    public func copy() -> Tensor {
        let out = Tensor.uninitialized(shape)
        if count > 0 { out.storage.base.update(from: pointer, count: count) }
        return out
    }
}
