import Quant
import Tensor

/// A frozen linear layer whose weight stays in bitsandbytes' 4-bit format (NF4 or FP4, usually
/// with double-quantized scales): the base of QLoRA. The forward and input-gradient products
/// decode the weight tile by tile (see ``RowDecodableMatrix``); the weight gets no gradient.
public final class NF4Linear: LinearLayer {
    /// The [Out, In] weight.
    public let weight: FourBitMatrix
    /// The optional [Out] bias.
    public let bias: Parameter?

    /// Wraps a 4-bit weight and an optional bias.
    public init(weight: FourBitMatrix, bias: Parameter? = nil) {
        self.weight = weight
        self.bias = bias
    }

    /// Quantizes a dense layer (blocksize 64, double quantization by default, as QLoRA).
    public convenience init(quantizing linear: Linear, type: FourBitType = .nf4, blockSize: Int = 64, doubleQuantize: Bool = true) throws {
        let w = linear.weight.tensor
        self.init(weight: try FourBitMatrix(quantizing: w.scalars, rows: w.shape[0], columns: w.shape[1], type: type,
                                            blockSize: blockSize, doubleQuantize: doubleQuantize),
                  bias: linear.bias)
    }

    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }
    public var localParameters: [(name: String, parameter: Parameter)] { bias.map { [("bias", $0)] } ?? [] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, quantizedWeight: weight, bias: bias?.tensor)
    }
}

/// A frozen linear layer whose weight stays in LLM.int8's format (int8 codes, per-row absmax).
/// Products use the decoded weight (no outlier decomposition); the weight gets no gradient.
public final class Int8Linear: LinearLayer {
    /// The [Out, In] weight.
    public let weight: Int8Matrix
    /// The optional [Out] bias.
    public let bias: Parameter?

    /// Wraps an int8 weight and an optional bias.
    public init(weight: Int8Matrix, bias: Parameter? = nil) {
        self.weight = weight
        self.bias = bias
    }

    /// Quantizes a dense layer row-wise.
    public convenience init(quantizing linear: Linear) throws {
        let w = linear.weight.tensor
        self.init(weight: try Int8Matrix(quantizing: w.scalars, rows: w.shape[0], columns: w.shape[1]), bias: linear.bias)
    }

    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }
    public var localParameters: [(name: String, parameter: Parameter)] { bias.map { [("bias", $0)] } ?? [] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, quantizedWeight: weight, bias: bias?.tensor)
    }
}
