import Tensor

/// A token embedding table [V, C].
public final class Embedding: Module {
    /// The [V, C] table.
    public let weight: Parameter

    /// Wraps an existing table.
    public init(weight: Parameter) { self.weight = weight }

    /// Vocabulary size.
    public var count: Int { weight.shape[0] }
    /// Embedding width.
    public var dimension: Int { weight.shape[1] }

    public var localParameters: [(name: String, parameter: Parameter)] { [("weight", weight)] }

    /// Looks up `ids` laid out as `shape`; returns `shape + [C]`.
    public func callAsFunction(_ ids: [Int32], shape: [Int]) -> Tensor {
        Tensor.embedding(weight.tensor, ids: ids, shape: shape)
    }
}
