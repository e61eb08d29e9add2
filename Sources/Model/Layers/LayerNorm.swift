import Tensor

/// Layer normalisation with learned scale and shift.
public final class LayerNorm: NormLayer {
    /// The [C] scale.
    public let weight: Parameter
    /// The [C] shift.
    public let bias: Parameter
    /// Added to the variance.
    public let epsilon: Float

    /// Wraps existing parameters.
    public init(weight: Parameter, bias: Parameter, epsilon: Float) {
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    public var localParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    /// Normalises the last axis.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.layerNorm(x, weight: weight.tensor, bias: bias.tensor, epsilon: epsilon)
    }
}
