import Foundation
import Model

/// A bottleneck adapter's settings: the `config` block of AdapterHub's `adapter_config.json`
/// (`BnConfig` in the `adapters` library), with AdapterHub's key names and defaults.
///
/// Each adapter computes `up(act(down(x))) · scaling` plus a residual, at up to two places in every
/// decoder block: after the attention output (`mh_adapter`) and after the feed-forward output
/// (`output_adapter`). See ``BottleneckAdapter`` for where the residuals go.
public struct BottleneckConfiguration: Sendable, Equatable {
    /// Add an adapter after each block's attention output (`mh_adapter`).
    public var attentionAdapter: Bool
    /// Add an adapter after each block's feed-forward output (`output_adapter`).
    public var outputAdapter: Bool
    /// hidden size / bottleneck width (`reduction_factor`).
    public var reductionFactor: ReductionFactor
    /// The non-linearity's AdapterHub name (`non_linearity`), kept as written.
    public var nonLinearity: String
    /// Add the sub-layer's residual before the adapter, so the adapter sees their sum (`original_ln_before`).
    public var originalLayerNormBefore: Bool
    /// Add the sub-layer's residual after the adapter (`original_ln_after`).
    public var originalLayerNormAfter: Bool
    /// The adapter's own residual is the sub-layer output before the residual sum (true) or after it
    /// (false) (`residual_before_ln`).
    public var residualBeforeLayerNorm: Bool
    /// A new LayerNorm on the bottleneck output (`ln_after`).
    public var layerNormAfter: Bool
    /// With `ln_after`, add the adapter's residual before that LayerNorm instead of after it
    /// (`adapter_residual_before_ln`).
    public var adapterResidualBeforeLayerNorm: Bool
    /// Factor on the up-projection's output (`scaling`).
    public var scaling: BottleneckScaling
    /// Dropout on the scaled up-projection output while training (`dropout`).
    public var dropout: Float
    /// Initialisation of new adapters (`init_weights`: "bert", "mam_adapter" or "houlsby").
    public var initWeights: String
    /// Block indices that get no adapter (`leave_out`).
    public var leaveOut: [Int]
    /// A parallel adapter (`is_parallel`, He et al. 2021): it reads the sub-layer's input residual
    /// instead of its output, and its result is added to both (`original_ln_before` and
    /// `residual_before_ln` do not apply).
    public var isParallel: Bool
    /// Width of the model the adapter was made for (`hidden_size`, beside the `config` block in the
    /// file); recorded when the adapter is installed.
    public var hiddenSize: Int?
    /// `model_type` of the model the adapter was made for ("llama", "gpt2", …).
    public var modelType: String?
    /// `model_name`: the base model's name or path, if known.
    public var modelName: String?

    /// A configuration with `BnConfig`'s defaults for everything not given.
    public init(attentionAdapter: Bool, outputAdapter: Bool, reductionFactor: ReductionFactor, nonLinearity: String,
                originalLayerNormBefore: Bool = false, originalLayerNormAfter: Bool = true,
                residualBeforeLayerNorm: Bool = true, layerNormAfter: Bool = false,
                adapterResidualBeforeLayerNorm: Bool = false, scaling: BottleneckScaling = .constant(1),
                dropout: Float = 0, initWeights: String = "bert", leaveOut: [Int] = [], isParallel: Bool = false) {
        self.attentionAdapter = attentionAdapter
        self.outputAdapter = outputAdapter
        self.reductionFactor = reductionFactor
        self.nonLinearity = nonLinearity
        self.originalLayerNormBefore = originalLayerNormBefore
        self.originalLayerNormAfter = originalLayerNormAfter
        self.residualBeforeLayerNorm = residualBeforeLayerNorm
        self.layerNormAfter = layerNormAfter
        self.adapterResidualBeforeLayerNorm = adapterResidualBeforeLayerNorm
        self.scaling = scaling
        self.dropout = dropout
        self.initWeights = initWeights
        self.leaveOut = leaveOut
        self.isParallel = isParallel
    }

    /// Pfeiffer et al. (2020), AdapterHub's `seq_bn`: one adapter after the feed-forward output, on
    /// the sum of that output and its residual; relu, reduction factor 16.
    public static func seqBottleneck(reductionFactor: Double = 16, nonLinearity: String = "relu") -> Self {
        Self(attentionAdapter: false, outputAdapter: true, reductionFactor: .uniform(reductionFactor),
             nonLinearity: nonLinearity, originalLayerNormBefore: true)
    }

    /// Houlsby et al. (2019), AdapterHub's `double_seq_bn`: adapters after the attention and after the
    /// feed-forward output, on the sub-layer outputs; swish, reduction factor 16.
    public static func doubleSeqBottleneck(reductionFactor: Double = 16, nonLinearity: String = "swish") -> Self {
        Self(attentionAdapter: true, outputAdapter: true, reductionFactor: .uniform(reductionFactor),
             nonLinearity: nonLinearity, originalLayerNormBefore: false)
    }

    /// He et al. (2021), AdapterHub's `par_bn`: one parallel adapter beside the feed-forward block,
    /// reading its input residual; relu, reduction factor 2, scaling 4, zero-initialised up-projection.
    public static func parallelBottleneck(reductionFactor: Double = 2, nonLinearity: String = "relu",
                                          scaling: BottleneckScaling = .constant(4)) -> Self {
        Self(attentionAdapter: false, outputAdapter: true, reductionFactor: .uniform(reductionFactor),
             nonLinearity: nonLinearity, scaling: scaling, initWeights: "mam_adapter", isParallel: true)
    }

    /// The preset named as in AdapterHub (`seq_bn`/`pfeiffer`, `double_seq_bn`/`houlsby`,
    /// `par_bn`/`parallel`, `scaled_par_bn`/`scaled_parallel`).
    public static func preset(named name: String) throws -> Self {
        switch name.lowercased() {
        case "seq_bn", "pfeiffer": return .seqBottleneck()
        case "double_seq_bn", "houlsby": return .doubleSeqBottleneck()
        case "par_bn", "parallel": return .parallelBottleneck()
        case "scaled_par_bn", "scaled_parallel": return .parallelBottleneck(scaling: .learned)
        default:
            throw AdapterError.unsupported(
                "adapter configuration '\(name)' (supported: seq_bn, pfeiffer, double_seq_bn, houlsby, par_bn, parallel, scaled_par_bn)")
        }
    }

    /// The resolved non-linearity.
    public var activation: BottleneckActivation {
        get throws { try BottleneckActivation(name: nonLinearity) }
    }

    /// Bottleneck width for block `layer` of a model of width `hiddenSize`: ⌊hidden / factor⌋, at least 1.
    public func bottleneckSize(layer: Int, hiddenSize: Int) throws -> Int {
        let factor = try reductionFactor.value(layer: layer)
        return max(1, Int((Double(hiddenSize) / factor).rounded(.down)))
    }

    /// Whether block `layer` gets an adapter at the attention or feed-forward location.
    public func hasAdapter(at location: BottleneckLocation, layer: Int) -> Bool {
        guard !leaveOut.contains(layer) else { return false }
        return location == .attention ? attentionAdapter : outputAdapter
    }

    /// This configuration with the facts of `model` filled in where unknown (hidden size, model type).
    public func recordingFacts(of model: any CausalLanguageModel) -> Self {
        var c = self
        c.hiddenSize = c.hiddenSize ?? model.description.hiddenSize
        c.modelType = c.modelType ?? model.description.modelType
        return c
    }

    /// Checks the settings are usable.
    public func validate() throws {
        _ = try activation
        try reductionFactor.validate()
        guard dropout >= 0 && dropout < 1 else {
            throw AdapterError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
        guard ["bert", "mam_adapter", "houlsby"].contains(initWeights) else {
            throw AdapterError.unsupported("init_weights '\(initWeights)' (supported: bert, mam_adapter, houlsby)")
        }
        if case .constant(let s) = scaling, !s.isFinite {
            throw AdapterError.invalidConfiguration("scaling must be finite, got \(s)")
        }
    }
}

/// Where in a decoder block an adapter sits.
public enum BottleneckLocation: String, Sendable, CaseIterable {
    /// After the attention output (`attention_adapters`, AdapterHub's `mh_adapter`).
    case attention = "attention_adapters"
    /// After the feed-forward output (`output_adapters`, AdapterHub's `output_adapter`).
    case output = "output_adapters"
}

/// AdapterHub's `reduction_factor`: one number, or numbers per block index with a default.
public enum ReductionFactor: Sendable, Equatable {
    /// The same factor for every block.
    case uniform(Double)
    /// Factors by block index (keys are decimal strings), and the one for other blocks.
    case perLayer([String: Double], default: Double?)

    /// The factor for block `layer`.
    public func value(layer: Int) throws -> Double {
        switch self {
        case .uniform(let f): return f
        case .perLayer(let map, let fallback):
            guard let f = map[String(layer)] ?? fallback else {
                throw AdapterError.invalidConfiguration("reduction_factor has no entry for layer \(layer) and no \"default\"")
            }
            return f
        }
    }

    func validate() throws {
        let all: [Double]
        switch self {
        case .uniform(let f): all = [f]
        case .perLayer(let map, let fallback): all = Array(map.values) + (fallback.map { [$0] } ?? [])
        }
        guard all.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw AdapterError.invalidConfiguration("reduction_factor must be positive, got \(self)")
        }
    }
}

/// AdapterHub's `scaling`: a constant, or a learned scalar or per-channel vector (initialised to 1).
public enum BottleneckScaling: Sendable, Equatable {
    /// A fixed factor.
    case constant(Float)
    /// One learned factor (`"learned"`), saved as `…scaling` [1].
    case learned
    /// A learned factor per channel (`"channel"`), saved as `…scaling` [hidden].
    case channel
}
