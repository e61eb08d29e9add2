import Model
import Tensor

/// One bottleneck adapter at one place of one decoder block, as AdapterHub's sequential `Adapter`
/// with the block's own layer norm absent (Llama-family and GPT-2 blocks hand the adapter none):
///
///     x   = original_ln_before ? h + r : h           h: sub-layer output, r: the block's residual
///     a   = residual_before_ln ? h : x                the adapter's own residual
///     u   = up(act(down(x))) · scaling, then dropout while training
///     out = ln_after ? LN(u + a) or LN(u) + a : u + a (adapter_residual_before_ln picks which)
///     y   = original_ln_after ? out + r : out
///
/// With `seq_bn` (Pfeiffer) that is y = x + f(x) with x = h + r; with `double_seq_bn` (Houlsby)
/// y = r + h + f(h). A parallel adapter (`is_parallel`, `par_bn`) reads the residual instead:
/// u = up(act(down(r))) · scaling (then LN(u) with `ln_after`), y = u + h (+ r with `original_ln_after`). Parameters are named as AdapterHub names them inside the adapter
/// (`adapter_down.0.weight`, `adapter_up.bias`, `adapter_norm_after.weight`, `scaling`).
public final class BottleneckAdapter: Module {
    /// Down-projection weight [bottleneck, hidden] and bias [bottleneck].
    public let downWeight, downBias: Parameter
    /// Up-projection weight [hidden, bottleneck] and bias [hidden].
    public let upWeight, upBias: Parameter
    /// LayerNorm on the bottleneck output (`ln_after`): weight and bias [hidden].
    public let normAfter: (weight: Parameter, bias: Parameter)?
    /// Learned scaling, [1] or [hidden] (nil for a constant one).
    public let learnedScaling: Parameter?
    /// The settings it was built from.
    public let configuration: BottleneckConfiguration
    /// Dropout randomness (part of a training run's state).
    public var random: SeededRandom
    private let activation: BottleneckActivation
    private let constantScaling: Float

    /// PyTorch's `nn.LayerNorm` default ε, which AdapterHub's adapter norms use.
    static let layerNormEpsilon: Float = 1e-5

    /// A new adapter of width `bottleneckSize` on a `hiddenSize`-wide stream, initialised as
    /// `configuration.initWeights` says ("bert": N(0, 0.02) weights; "mam_adapter": Kaiming-uniform
    /// down, zero up; "houlsby": N(0, 0.01) truncated to ±0.02; biases 0, norms 1/0, scaling 1).
    public init(hiddenSize: Int, bottleneckSize: Int, configuration: BottleneckConfiguration, seed: UInt64) throws {
        try configuration.validate()
        guard hiddenSize > 0, bottleneckSize > 0 else {
            throw AdapterError.invalidConfiguration("sizes must be positive (hidden \(hiddenSize), bottleneck \(bottleneckSize))")
        }
        var rng = SeededRandom(seed: seed)
        let (c, d) = (hiddenSize, bottleneckSize)
        let down: Tensor, up: Tensor
        switch configuration.initWeights {
        case "mam_adapter":
            down = Tensor.kaimingUniform([d, c], using: &rng)
            up = Tensor.zeros([c, d])
        case "houlsby":
            down = Self.truncatedNormal([d, c], std: 0.01, bound: 0.02, using: &rng)
            up = Self.truncatedNormal([c, d], std: 0.01, bound: 0.02, using: &rng)
        default:
            down = Tensor.normal([d, c], std: 0.02, using: &rng)
            up = Tensor.normal([c, d], std: 0.02, using: &rng)
        }
        downWeight = Parameter(down)
        downBias = Parameter(Tensor.zeros([d]))
        upWeight = Parameter(up)
        upBias = Parameter(Tensor.zeros([c]))
        normAfter = configuration.layerNormAfter ? (Parameter(Tensor.ones([c])), Parameter(Tensor.zeros([c]))) : nil
        switch configuration.scaling {
        case .constant(let s): (learnedScaling, constantScaling) = (nil, s)
        case .learned: (learnedScaling, constantScaling) = (Parameter(Tensor.ones([1])), 1)
        case .channel: (learnedScaling, constantScaling) = (Parameter(Tensor.ones([c])), 1)
        }
        self.configuration = configuration
        activation = try configuration.activation
        random = rng.derived(stream: 1)
    }

    /// Width of the stream it adapts.
    public var hiddenSize: Int { upBias.shape[0] }
    /// Width of the bottleneck.
    public var bottleneckSize: Int { downBias.shape[0] }

    public var localParameters: [(name: String, parameter: Parameter)] {
        var out: [(name: String, parameter: Parameter)] = [
            ("adapter_down.0.weight", downWeight), ("adapter_down.0.bias", downBias),
            ("adapter_up.weight", upWeight), ("adapter_up.bias", upBias),
        ]
        if let normAfter { out += [("adapter_norm_after.weight", normAfter.weight), ("adapter_norm_after.bias", normAfter.bias)] }
        if let learnedScaling { out.append(("scaling", learnedScaling)) }
        return out
    }

    /// The block's hidden state after the sub-layer: `output` is the sub-layer's output h, `residual`
    /// the block's residual stream r, both [..., hidden].
    public func callAsFunction(_ output: Tensor, residual: Tensor) -> Tensor {
        let c = configuration
        if c.isParallel {
            let u = bottleneck(residual)
            let out = (normAfter.map { norm(u, $0) } ?? u) + output
            return c.originalLayerNormAfter ? out + residual : out
        }
        let x = c.originalLayerNormBefore ? output + residual : output
        let adapterResidual = c.residualBeforeLayerNorm ? output : x
        let u = bottleneck(x)
        var out: Tensor
        if let normAfter {
            out = c.adapterResidualBeforeLayerNorm ? norm(u + adapterResidual, normAfter) : norm(u, normAfter) + adapterResidual
        } else {
            out = u + adapterResidual
        }
        if c.originalLayerNormAfter { out = out + residual }
        return out
    }

    /// up(act(down(x))) · scaling, with dropout while training.
    private func bottleneck(_ x: Tensor) -> Tensor {
        var u = Tensor.linear(activation(Tensor.linear(x, weight: downWeight.tensor, bias: downBias.tensor)),
                              weight: upWeight.tensor, bias: upBias.tensor)
        u = learnedScaling.map { u * $0.tensor } ?? (constantScaling == 1 ? u : u * constantScaling)
        if configuration.dropout > 0 && GradientMode.isEnabled { u = u.dropout(configuration.dropout, using: &random) }
        return u
    }

    private func norm(_ x: Tensor, _ p: (weight: Parameter, bias: Parameter)) -> Tensor {
        Tensor.layerNorm(x, weight: p.weight.tensor, bias: p.bias.tensor, epsilon: Self.layerNormEpsilon)
    }

    /// Normal samples redrawn until they fall within ±`bound` (PyTorch's `trunc_normal_`).
    private static func truncatedNormal(_ shape: [Int], std: Float, bound: Float, using rng: inout SeededRandom) -> Tensor {
        Tensor.build(shape) { buf in
            for i in buf.indices {
                var v = std * rng.nextNormal()
                while abs(v) > bound { v = std * rng.nextNormal() }
                buf[i] = v
            }
        }
    }
}
