import Tensor

/// A layer that maps [..., In] to [..., Out]: the slot LoRA, quantized and other wrapped linear
/// layers fill.
public protocol LinearLayer: Module {
    /// Input width.
    var inFeatures: Int { get }
    /// Output width.
    var outFeatures: Int { get }
    /// Applies the layer.
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A dense layer, y = x·Wᵀ + b, with W stored [Out, In] as in PyTorch's `nn.Linear`.
public final class Linear: LinearLayer {
    /// The [Out, In] weight.
    public let weight: Parameter
    /// The optional [Out] bias.
    public let bias: Parameter?

    /// Wraps existing parameters.
    public init(weight: Parameter, bias: Parameter? = nil) {
        self.weight = weight
        self.bias = bias
    }

    /// A layer with `nn.Linear`'s default init (Kaiming-uniform weight, uniform bias in ±1/√In).
    public convenience init(inFeatures: Int, outFeatures: Int, bias: Bool = true, rng: inout SeededRandom) {
        let w = Tensor.kaimingUniform([outFeatures, inFeatures], using: &rng)
        let bound = 1 / Float(inFeatures).squareRoot()
        let b = bias ? Parameter(Tensor.uniform([outFeatures], low: -bound, high: bound, using: &rng)) : nil
        self.init(weight: Parameter(w), bias: b)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public var localParameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, weight: weight.tensor, bias: bias?.tensor)
    }
}
