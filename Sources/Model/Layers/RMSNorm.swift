import Tensor

/// Root-mean-square normalisation with a learned scale.
public final class RMSNorm: NormLayer {
    /// The [C] scale.
    public let weight: Parameter
    /// Added to the mean square.
    public let epsilon: Float

    /// Wraps an existing scale.
    public init(weight: Parameter, epsilon: Float) {
        self.weight = weight
        self.epsilon = epsilon
    }

    public var localParameters: [(name: String, parameter: Parameter)] { [("weight", weight)] }

    /// Normalises the last axis.
    public func callAsFunction(_ x: Tensor) -> Tensor { Tensor.rmsNorm(x, weight: weight.tensor, epsilon: epsilon) }
}
