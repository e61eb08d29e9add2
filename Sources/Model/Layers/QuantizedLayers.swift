import Quant
import Tensor

/// A frozen linear layer whose weight stays in its GGUF block format (see ``QuantizedMatrix``).
/// Gradients flow through it to earlier layers; it has no trainable weight, which suits LoRA
/// (a QLoRA-style setup on the file's own quantization).
public final class QuantizedLinear: LinearLayer {
    /// The [Out, In] weight.
    public let weight: QuantizedMatrix
    /// The optional [Out] bias.
    public let bias: Parameter?

    /// Wraps a quantized weight and an optional bias.
    public init(weight: QuantizedMatrix, bias: Parameter? = nil) {
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }
    public var localParameters: [(name: String, parameter: Parameter)] { bias.map { [("bias", $0)] } ?? [] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, quantizedWeight: weight, bias: bias?.tensor)
    }
}

/// What a token-embedding layer offers: lookup, and projection back to the vocabulary for models
/// whose output head is tied to the embedding.
public protocol EmbeddingLayer: Module {
    /// Vocabulary size.
    var count: Int { get }
    /// Embedding width.
    var dimension: Int { get }
    /// Looks up `ids` laid out as `shape`; returns `shape + [C]`.
    func callAsFunction(_ ids: [Int32], shape: [Int]) -> Tensor
    /// x [..., C] · tableᵀ: logits of a tied head.
    func project(_ x: Tensor) -> Tensor
}

extension Embedding: EmbeddingLayer {
    public func project(_ x: Tensor) -> Tensor { Tensor.linear(x, weight: weight.tensor) }
}

/// A frozen token embedding kept in its GGUF block format; rows are decoded on lookup.
public final class QuantizedEmbedding: EmbeddingLayer {
    /// The [V, C] table.
    public let table: QuantizedMatrix

    /// Wraps a quantized table.
    public init(table: QuantizedMatrix) { self.table = table }

    public var count: Int { table.rows }
    public var dimension: Int { table.columns }

    public func callAsFunction(_ ids: [Int32], shape: [Int]) -> Tensor {
        let c = table.columns
        return Tensor.build(shape + [c]) { out in
            for (i, id) in ids.enumerated() {
                table.dequantizeRows(Int(id)..<(Int(id) + 1), into: out.baseAddress! + i * c)
            }
        }
    }

    public func project(_ x: Tensor) -> Tensor { Tensor.linear(x, quantizedWeight: table) }
}
