import Tensor

// The Llama family, following transformers' `modeling_llama.py` / `modeling_qwen2.py`:
// pre-norm decoder blocks of RMSNorm → grouped-query attention with rotary embeddings (NeoX
// layout) → residual, RMSNorm → SwiGLU MLP → residual; final RMSNorm and a tied or separate head.
// Shapes: B batch, T new tokens, C hidden, H query heads, G key/value heads, D head width.

/// Self-attention with q/k/v/o projections (`self_attn`).
public final class LlamaAttention: SelfAttentionLayer {
    public private(set) var qProj, kProj, vProj, oProj: any LinearLayer
    let heads, kvHeads, headDim: Int
    let rope: RotaryEmbedding

    init(q: any LinearLayer, k: any LinearLayer, v: any LinearLayer, o: any LinearLayer, heads: Int, kvHeads: Int, headDim: Int,
         rope: RotaryEmbedding) {
        (qProj, kProj, vProj, oProj) = (q, k, v, o)
        (self.heads, self.kvHeads, self.headDim, self.rope) = (heads, kvHeads, headDim, rope)
    }

    public var children: [(name: String, module: any Module)] {
        [("q_proj", qProj), ("k_proj", kProj), ("v_proj", vProj), ("o_proj", oProj)]
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "q_proj": try replaceLinear(&qProj, name: name, with: module)
        case "k_proj": try replaceLinear(&kProj, name: name, with: module)
        case "v_proj": try replaceLinear(&vProj, name: name, with: module)
        case "o_proj": try replaceLinear(&oProj, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }

    /// x [B, T, C] → [B, T, C].
    public func callAsFunction(_ x: Tensor, context: AttentionContext) -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        let q = Tensor.rotary(qProj(x).reshaped([b, t, heads, headDim]), positions: context.positions, table: rope)
        let k = Tensor.rotary(kProj(x).reshaped([b, t, kvHeads, headDim]), positions: context.positions, table: rope)
        let v = vProj(x).reshaped([b, t, kvHeads, headDim])
        let o = attend(q: q, k: k, v: v, context: context, heads: heads, scale: 1 / Float(headDim).squareRoot())
        return oProj(o.reshaped([b, t, heads * headDim]))
    }
}

/// The SwiGLU feed-forward block (`mlp`): down(silu(gate(x)) ⊙ up(x)).
public final class LlamaMLP: FeedForwardLayer {
    public private(set) var gateProj, upProj, downProj: any LinearLayer

    init(gate: any LinearLayer, up: any LinearLayer, down: any LinearLayer) {
        (gateProj, upProj, downProj) = (gate, up, down)
    }

    public var children: [(name: String, module: any Module)] {
        [("gate_proj", gateProj), ("up_proj", upProj), ("down_proj", downProj)]
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "gate_proj": try replaceLinear(&gateProj, name: name, with: module)
        case "up_proj": try replaceLinear(&upProj, name: name, with: module)
        case "down_proj": try replaceLinear(&downProj, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        downProj(Tensor.swiglu(gate: gateProj(x), up: upProj(x)))
    }
}

/// One decoder block (`model.layers.N`); every sublayer is a replaceable slot, and the two residual
/// joins (`attention_adapters`, `output_adapters`) can be filled by adapters.
public final class LlamaDecoderLayer: Module {
    public private(set) var selfAttention: any SelfAttentionLayer
    public private(set) var mlp: any FeedForwardLayer
    public private(set) var inputNorm: any NormLayer
    public private(set) var postAttentionNorm: any NormLayer
    /// Adds the attention output to the residual stream (nil: plain addition).
    public private(set) var attentionJoin: (any ResidualJoin)?
    /// Adds the feed-forward output to the residual stream (nil: plain addition).
    public private(set) var outputJoin: (any ResidualJoin)?

    init(attention: any SelfAttentionLayer, mlp: any FeedForwardLayer, inputNorm: any NormLayer, postAttentionNorm: any NormLayer) {
        (selfAttention, self.mlp, self.inputNorm, self.postAttentionNorm) = (attention, mlp, inputNorm, postAttentionNorm)
    }

    public var children: [(name: String, module: any Module)] {
        var out: [(name: String, module: any Module)] = [
            ("self_attn", selfAttention), ("mlp", mlp), ("input_layernorm", inputNorm), ("post_attention_layernorm", postAttentionNorm)]
        if let attentionJoin { out.append(("attention_adapters", attentionJoin)) }
        if let outputJoin { out.append(("output_adapters", outputJoin)) }
        return out
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "self_attn": try replaceSlot(&selfAttention, as: (any SelfAttentionLayer).self, name: name, with: module)
        case "mlp": try replaceSlot(&mlp, as: (any FeedForwardLayer).self, name: name, with: module)
        case "input_layernorm": try replaceSlot(&inputNorm, as: (any NormLayer).self, name: name, with: module)
        case "post_attention_layernorm": try replaceSlot(&postAttentionNorm, as: (any NormLayer).self, name: name, with: module)
        case "attention_adapters": try replaceJoin(&attentionJoin, name: name, with: module)
        case "output_adapters": try replaceJoin(&outputJoin, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }

    func callAsFunction(_ x: Tensor, context: AttentionContext) -> Tensor {
        let a = selfAttention(inputNorm(x), context: context)
        let h = attentionJoin.map { $0(a, residual: x) } ?? x + a
        let m = mlp(postAttentionNorm(h))
        return outputJoin.map { $0(m, residual: h) } ?? h + m
    }
}

/// The decoder stack without the head (`model`).
public final class LlamaBackbone: Module {
    public private(set) var embedTokens: any EmbeddingLayer
    public let layers: ModuleList<LlamaDecoderLayer>
    public private(set) var norm: any NormLayer

    init(embedTokens: any EmbeddingLayer, layers: [LlamaDecoderLayer], norm: any NormLayer) {
        self.embedTokens = embedTokens
        self.layers = ModuleList(layers)
        self.norm = norm
    }

    public var children: [(name: String, module: any Module)] {
        [("embed_tokens", embedTokens), ("layers", layers), ("norm", norm)]
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "embed_tokens":
            guard let e = module as? any EmbeddingLayer, e.count == embedTokens.count, e.dimension == embedTokens.dimension else {
                throw ModuleError.incompatibleReplacement(path: name, reason: "expected an embedding of \(embedTokens.count)x\(embedTokens.dimension)")
            }
            embedTokens = e
        case "norm": try replaceSlot(&norm, as: (any NormLayer).self, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }
}

/// A Llama-family causal language model (`LlamaForCausalLM`, `Qwen2ForCausalLM`, …).
public final class LlamaModel: CausalLanguageModel {
    /// The configuration it was built from.
    public let configuration: LlamaConfiguration
    /// `model`.
    public let backbone: LlamaBackbone
    /// `lm_head`, or nil when tied to the embedding.
    public private(set) var lmHead: (any LinearLayer)?
    /// `prompt_encoder`: a learned prefix (prompt or prefix tuning), if any.
    public var sequencePrefix: (any SequencePrefix)?
    /// `model.layers`.
    public var blockPath: String { "model.layers" }
    let rope: RotaryEmbedding

    /// Builds a model from weights named as in Hugging Face checkpoints; every tensor is checked
    /// against the configuration and every tensor in the archive must be used.
    ///
    /// Weights the archive holds in a block format (a GGUF file) stay in it as `storage` says
    /// (``QuantizedLinear``, ``QuantizedEmbedding``) instead of being expanded to Float32.
    ///
    /// A `rope_freqs.weight` tensor (Llama 3.1+ GGUF files) becomes the configuration's
    /// "frequency_factors" rope scaling.
    public init(configuration: LlamaConfiguration, weights: any WeightArchive, keeping storage: QuantizedStorage = []) throws {
        var c = configuration
        var r = WeightReader(weights, keeping: storage)
        if r.has(Self.ropeFactorsName), c.headDimension > 0 {
            guard c.ropeScaling == nil else {
                throw ModelLoadError.invalidConfiguration("both rope scaling metadata and \(Self.ropeFactorsName)")
            }
            let factors = try r.parameter(Self.ropeFactorsName, [c.headDimension / 2]).value.scalars
            c.ropeScaling = RopeScaling(type: "frequency_factors", frequencyFactors: factors)
        }
        try c.validate()
        let (C, D, H, G, F) = (c.hiddenSize, c.headDimension, c.headCount, c.kvHeadCount, c.intermediateSize)
        func linear(_ name: String, _ out: Int, _ inp: Int, bias: Bool) throws -> any LinearLayer {
            try r.linear(name, out: out, in: inp, bias: bias)
        }
        let embed = try r.embedding("model.embed_tokens.weight", count: c.vocabularySize, dimension: C,
                                    tied: !r.has("lm_head.weight"))
        // Every block's weights are read (and so their shapes confirmed by the file) before the
        // rotary table, whose size the configuration alone would set.
        var blocks: [(q: any LinearLayer, k: any LinearLayer, v: any LinearLayer, o: any LinearLayer, mlp: LlamaMLP,
                      inputNorm: RMSNorm, postAttentionNorm: RMSNorm)] = []
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            blocks.append((
                q: try linear(p + "self_attn.q_proj", H * D, C, bias: c.attentionBias),
                k: try linear(p + "self_attn.k_proj", G * D, C, bias: c.attentionBias),
                v: try linear(p + "self_attn.v_proj", G * D, C, bias: c.attentionBias),
                o: try linear(p + "self_attn.o_proj", C, H * D, bias: c.outputBias),
                mlp: LlamaMLP(gate: try linear(p + "mlp.gate_proj", F, C, bias: c.mlpBias),
                              up: try linear(p + "mlp.up_proj", F, C, bias: c.mlpBias),
                              down: try linear(p + "mlp.down_proj", C, F, bias: c.mlpBias)),
                inputNorm: RMSNorm(weight: try r.parameter(p + "input_layernorm.weight", [C]), epsilon: c.rmsNormEpsilon),
                postAttentionNorm: RMSNorm(weight: try r.parameter(p + "post_attention_layernorm.weight", [C]), epsilon: c.rmsNormEpsilon)))
        }
        let rope = RotaryEmbedding(dimension: D, maxPositions: min(c.maxPositions, c.slidingWindow ?? .max, 1 << 16), base: c.ropeTheta, layout: .neox,
                                   inverseFrequencies: try c.ropeScaling?.inverseFrequencies(dimension: D, base: c.ropeTheta))
        let layers = blocks.map { b in
            LlamaDecoderLayer(attention: LlamaAttention(q: b.q, k: b.k, v: b.v, o: b.o, heads: H, kvHeads: G, headDim: D, rope: rope),
                              mlp: b.mlp, inputNorm: b.inputNorm, postAttentionNorm: b.postAttentionNorm)
        }
        let norm = RMSNorm(weight: try r.parameter("model.norm.weight", [C]), epsilon: c.rmsNormEpsilon)
        // A separate head when the weights have one (some checkpoints store it even when tied).
        if r.has("lm_head.weight") {
            lmHead = try linear("lm_head", c.vocabularySize, C, bias: false)
        } else if !c.tieWordEmbeddings {
            throw WeightLoadError.missingTensor("lm_head.weight")
        }
        try r.checkAllUsed { $0.hasSuffix("rotary_emb.inv_freq") }
        self.configuration = c
        backbone = LlamaBackbone(embedTokens: embed, layers: layers, norm: norm)
        self.rope = rope
    }

    /// llama.cpp's name for per-frequency rotary divisors.
    static let ropeFactorsName = "rope_freqs.weight"

    /// A randomly initialised model (weights ~ N(0, 0.02), norms 1), for tests and benchmarks.
    public convenience init(configuration c: LlamaConfiguration, seed: UInt64) throws {
        try self.init(configuration: c, weights: InMemoryWeights(LlamaModel.randomWeights(c, seed: seed)))
    }

    /// Hugging Face–named random weights for `c`.
    public static func randomWeights(_ c: LlamaConfiguration, seed: UInt64) -> [String: Tensor] {
        var rng = SeededRandom(seed: seed)
        var w: [String: Tensor] = [:]
        let (C, D, H, G, F) = (c.hiddenSize, c.headDimension, c.headCount, c.kvHeadCount, c.intermediateSize)
        func add(_ name: String, _ shape: [Int]) { w[name] = Tensor.normal(shape, std: 0.02, using: &rng) }
        add("model.embed_tokens.weight", [c.vocabularySize, C])
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            for (n, o, inp) in [("q_proj", H * D, C), ("k_proj", G * D, C), ("v_proj", G * D, C), ("o_proj", C, H * D)] {
                add(p + "self_attn.\(n).weight", [o, inp])
                if (n == "o_proj" ? c.outputBias : c.attentionBias) { add(p + "self_attn.\(n).bias", [o]) }
            }
            for (n, o, inp) in [("gate_proj", F, C), ("up_proj", F, C), ("down_proj", C, F)] {
                add(p + "mlp.\(n).weight", [o, inp])
                if c.mlpBias { add(p + "mlp.\(n).bias", [o]) }
            }
            w[p + "input_layernorm.weight"] = Tensor.ones([C])
            w[p + "post_attention_layernorm.weight"] = Tensor.ones([C])
        }
        w["model.norm.weight"] = Tensor.ones([C])
        if !c.tieWordEmbeddings { add("lm_head.weight", [c.vocabularySize, C]) }
        return w
    }

    /// The configuration's facts, with the usable context limited to the rotary table Tailor builds
    /// (and to the sliding window, when the model has one).
    public var description: ModelDescription {
        var d = configuration.description
        d.maxPositions = rope.maxPositions
        return d
    }

    public var children: [(name: String, module: any Module)] {
        [("model", backbone)] + (lmHead.map { [("lm_head", $0)] } ?? []) + (sequencePrefix.map { [("prompt_encoder", $0)] } ?? [])
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        if name == "prompt_encoder" { return try replacePrefix(&sequencePrefix, with: module) }
        guard name == "lm_head", var head = lmHead else { throw ModuleError.noSuchPath(name) }
        try replaceLinear(&head, name: name, with: module)
        lmHead = head
    }

    public func forward(_ input: ModelInput, cache: KVCache?) throws -> Tensor {
        let plan = try beginForward(input, cache: cache)
        let run = { self.outputHead(self.finalHidden(input, plan: plan, cache: cache)) }
        return cache == nil ? run() : GradientMode.withoutGradients(run)
    }

    public func hiddenRows(_ input: ModelInput) throws -> HiddenRows {
        let plan = try beginForward(input, cache: nil)
        return HiddenRows(hidden: finalHidden(input, plan: plan, cache: nil), head: outputHead)
    }

    /// `lm_head`, or the tied embedding.
    var outputHead: OutputHead {
        if let head = lmHead {
            let dense = (head as? Linear).flatMap { $0.bias == nil ? $0.weight.tensor : nil }
            return OutputHead(denseWeight: dense, parameters: head.namedParameters().map(\.parameter)) { head($0) }
        }
        let embed = backbone.embedTokens
        return OutputHead(denseWeight: (embed as? Embedding)?.weight.tensor, parameters: embed.namedParameters().map(\.parameter)) {
            embed.project($0)
        }
    }

    /// The blocks and the final norm: the selected rows' hidden states [N, C].
    private func finalHidden(_ input: ModelInput, plan: ForwardPlan, cache: KVCache?) -> Tensor {
        var h = plan.withPrefix(backbone.embedTokens(plan.tokenIDs, shape: [plan.batch, plan.length]))
        for (i, layer) in backbone.layers.items.enumerated() {
            let context = plan.context(layer: i, cache: cache)
            h = plan.checkpointing(h, block: layer) { layer($0, context: context) }
        }
        return backbone.norm(endForward(h, plan: plan, input: input, cache: cache))
    }
}
