import Foundation
import Tensor

/// The non-linearity between a bottleneck adapter's down- and up-projection, named as AdapterHub's
/// `non_linearity` (case-insensitive; transformers' activation names plus `leakyrelu`).
public enum BottleneckActivation: Sendable, Equatable {
    /// max(0, x).
    case relu
    /// x for x > 0, 0.01·x otherwise (`leakyrelu`, `leaky_relu`).
    case leakyReLU
    /// x·σ(x) (`swish`, `silu`).
    case silu
    /// GELU, exact erf form (`gelu`).
    case gelu
    /// GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    case geluTanh
    /// tanh(x).
    case tanh
    /// σ(x) = 1 / (1 + e⁻ˣ).
    case sigmoid
    /// The identity (`linear`).
    case identity

    /// The names accepted, lower-cased, with the activation each selects.
    public static let names: [String: BottleneckActivation] = [
        "relu": .relu, "leakyrelu": .leakyReLU, "leaky_relu": .leakyReLU, "swish": .silu, "silu": .silu,
        "gelu": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "gelu_fast": .geluTanh,
        "tanh": .tanh, "sigmoid": .sigmoid, "linear": .identity,
    ]

    /// The activation named `name` (case-insensitive); throws for names Tailor does not implement.
    public init(name: String) throws {
        guard let a = Self.names[name.lowercased()] else {
            throw AdapterError.unsupported("non_linearity '\(name)' (supported: \(Self.names.keys.sorted().joined(separator: ", ")))")
        }
        self = a
    }

    /// Applies the activation element-wise (differentiable).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return Self.pointwise(x, { max($0, 0) }, { x, _ in x > 0 ? 1 : 0 })
        case .leakyReLU: return Self.pointwise(x, { $0 > 0 ? $0 : 0.01 * $0 }, { x, _ in x > 0 ? 1 : 0.01 })
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        case .geluTanh: return x.geluTanh()
        case .tanh: return x.tanh()
        case .sigmoid: return Self.pointwise(x, { 1 / (1 + Foundation.exp(-$0)) }, { _, y in y * (1 - y) })
        case .identity: return x
        }
    }

    /// y = f(x) with the backward dx = dy · f′(x, y); for the cheap functions no C kernel covers.
    private static func pointwise(_ x: Tensor, _ f: (Float) -> Float,
                                  _ derivative: @escaping @Sendable (Float, Float) -> Float) -> Tensor {
        let input = x.detached
        let y = input.withUnsafeBufferPointer { src in
            Tensor.build(x.shape) { dst in for i in dst.indices { dst[i] = f(src[i]) } }
        }
        return Tensor.record(y, inputs: [x]) { g in
            let dx = input.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    g.withUnsafeBufferPointer { pg in
                        Tensor.build(input.shape) { out in
                            for i in out.indices { out[i] = pg[i] * derivative(px[i], py[i]) }
                        }
                    }
                }
            }
            return [dx]
        }
    }
}
