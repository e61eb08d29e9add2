import Tensor

// GPT-2, following transformers' `modeling_gpt2.py`: learned position embeddings, pre-norm blocks
// of LayerNorm → multi-head causal attention (fused c_attn) → residual, LayerNorm → GELU (tanh) MLP
// → residual; final LayerNorm; head tied to the token embedding. Hugging Face stores GPT-2's
// projections as `Conv1D` with weights [In, Out]; Tailor keeps every linear weight [Out, In] and
// transposes on load and save.

/// `config.json` of GPT-2 models.
public struct GPT2Configuration: Codable, Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var maxPositions: Int
    public var layerNormEpsilon: Float
    /// MLP width (`n_inner`, 4·C when absent).
    public var innerSize: Int?
    /// `activation_function`: "gelu_new" (tanh form) or "gelu".
    public var activation: String

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "n_embd", layerCount = "n_layer", headCount = "n_head"
        case maxPositions = "n_positions", layerNormEpsilon = "layer_norm_epsilon", innerSize = "n_inner"
        case activation = "activation_function"
    }

    /// A configuration from explicit values.
    public init(vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int, maxPositions: Int = 1024,
                layerNormEpsilon: Float = 1e-5, innerSize: Int? = nil, activation: String = "gelu_new") {
        (self.vocabularySize, self.hiddenSize, self.layerCount, self.headCount) = (vocabularySize, hiddenSize, layerCount, headCount)
        (self.maxPositions, self.layerNormEpsilon, self.innerSize, self.activation) = (maxPositions, layerNormEpsilon, innerSize, activation)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(vocabularySize: try c.decode(Int.self, forKey: .vocabularySize),
                  hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  layerCount: try c.decode(Int.self, forKey: .layerCount),
                  headCount: try c.decode(Int.self, forKey: .headCount),
                  maxPositions: try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 1024,
                  layerNormEpsilon: try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5,
                  innerSize: try c.decodeIfPresent(Int.self, forKey: .innerSize),
                  activation: try c.decodeIfPresent(String.self, forKey: .activation) ?? "gelu_new")
    }

    /// MLP width.
    public var mlpSize: Int { innerSize ?? 4 * hiddenSize }

    /// Checks the values make a model that can be built.
    public func validate() throws {
        guard vocabularySize > 0, hiddenSize > 0, layerCount > 0, headCount > 0, maxPositions > 0,
              hiddenSize % headCount == 0 else {
            throw ModelLoadError.invalidConfiguration("GPT-2 sizes must be positive and n_embd divisible by n_head")
        }
        if let inner = innerSize, inner <= 0 { throw ModelLoadError.invalidConfiguration("n_inner \(inner) must be positive") }
        let limit = ModelDescription.sizeLimit
        guard [vocabularySize, hiddenSize, layerCount, headCount, maxPositions, innerSize ?? 0].allSatisfy({ $0 <= limit }) else {
            throw ModelLoadError.invalidConfiguration("GPT-2 sizes must be at most \(limit)")
        }
        guard ["gelu_new", "gelu", "gelu_pytorch_tanh"].contains(activation) else {
            throw ModelLoadError.invalidConfiguration("unsupported activation_function '\(activation)'")
        }
    }

    /// Architecture-independent facts.
    public var description: ModelDescription {
        ModelDescription(modelType: "gpt2", vocabularySize: vocabularySize, hiddenSize: hiddenSize, layerCount: layerCount,
                         headCount: headCount, kvHeadCount: headCount, headDimension: hiddenSize / headCount,
                         maxPositions: maxPositions)
    }
}

/// GPT-2 attention (`attn`): fused q/k/v projection `c_attn` and output projection `c_proj`.
public final class GPT2Attention: SelfAttentionLayer {
    public private(set) var cAttn, cProj: any LinearLayer
    let heads: Int

    init(cAttn: any LinearLayer, cProj: any LinearLayer, heads: Int) {
        (self.cAttn, self.cProj, self.heads) = (cAttn, cProj, heads)
    }

    public var children: [(name: String, module: any Module)] { [("c_attn", cAttn), ("c_proj", cProj)] }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "c_attn": try replaceLinear(&cAttn, name: name, with: module)
        case "c_proj": try replaceLinear(&cProj, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }

    public func callAsFunction(_ x: Tensor, context: AttentionContext) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let d = c / heads
        let qkv = cAttn(x).split(axis: 2, sizes: [c, c, c]).map { $0.reshaped([b, t, heads, d]) }
        let o = attend(q: qkv[0], k: qkv[1], v: qkv[2], context: context, heads: heads, scale: 1 / Float(d).squareRoot())
        return cProj(o.reshaped([b, t, c]))
    }
}

/// GPT-2 feed-forward block (`mlp`): c_proj(gelu(c_fc(x))).
public final class GPT2MLP: FeedForwardLayer {
    public private(set) var cFc, cProj: any LinearLayer
    let exactGelu: Bool

    init(cFc: any LinearLayer, cProj: any LinearLayer, exactGelu: Bool) {
        (self.cFc, self.cProj, self.exactGelu) = (cFc, cProj, exactGelu)
    }

    public var children: [(name: String, module: any Module)] { [("c_fc", cFc), ("c_proj", cProj)] }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "c_fc": try replaceLinear(&cFc, name: name, with: module)
        case "c_proj": try replaceLinear(&cProj, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = cFc(x)
        return cProj(exactGelu ? h.gelu() : h.geluTanh())
    }
}

/// One GPT-2 block (`transformer.h.N`); every sublayer is a replaceable slot, and the two residual
/// joins (`attention_adapters`, `output_adapters`) can be filled by adapters.
public final class GPT2Block: Module {
    public private(set) var ln1: any NormLayer, attention: any SelfAttentionLayer, ln2: any NormLayer, mlp: any FeedForwardLayer
    /// Adds the attention output to the residual stream (nil: plain addition).
    public private(set) var attentionJoin: (any ResidualJoin)?
    /// Adds the feed-forward output to the residual stream (nil: plain addition).
    public private(set) var outputJoin: (any ResidualJoin)?

    init(ln1: any NormLayer, attention: any SelfAttentionLayer, ln2: any NormLayer, mlp: any FeedForwardLayer) {
        (self.ln1, self.attention, self.ln2, self.mlp) = (ln1, attention, ln2, mlp)
    }

    public var children: [(name: String, module: any Module)] {
        var out: [(name: String, module: any Module)] = [("ln_1", ln1), ("attn", attention), ("ln_2", ln2), ("mlp", mlp)]
        if let attentionJoin { out.append(("attention_adapters", attentionJoin)) }
        if let outputJoin { out.append(("output_adapters", outputJoin)) }
        return out
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        switch name {
        case "ln_1": try replaceSlot(&ln1, as: (any NormLayer).self, name: name, with: module)
        case "attn": try replaceSlot(&attention, as: (any SelfAttentionLayer).self, name: name, with: module)
        case "ln_2": try replaceSlot(&ln2, as: (any NormLayer).self, name: name, with: module)
        case "mlp": try replaceSlot(&mlp, as: (any FeedForwardLayer).self, name: name, with: module)
        case "attention_adapters": try replaceJoin(&attentionJoin, name: name, with: module)
        case "output_adapters": try replaceJoin(&outputJoin, name: name, with: module)
        default: throw ModuleError.noSuchPath(name)
        }
    }

    func callAsFunction(_ x: Tensor, context: AttentionContext) -> Tensor {
        let a = attention(ln1(x), context: context)
        let h = attentionJoin.map { $0(a, residual: x) } ?? x + a
        let m = mlp(ln2(h))
        return outputJoin.map { $0(m, residual: h) } ?? h + m
    }
}

/// The GPT-2 stack without the head (`transformer`).
public final class GPT2Backbone: Module {
    public let wte: Embedding, wpe: Embedding, h: ModuleList<GPT2Block>
    public private(set) var lnF: any NormLayer

    init(wte: Embedding, wpe: Embedding, blocks: [GPT2Block], lnF: any NormLayer) {
        (self.wte, self.wpe, self.h, self.lnF) = (wte, wpe, ModuleList(blocks), lnF)
    }

    public var children: [(name: String, module: any Module)] {
        [("wte", wte), ("wpe", wpe), ("h", h), ("ln_f", lnF)]
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        guard name == "ln_f" else { throw ModuleError.noSuchPath(name) }
        try replaceSlot(&lnF, as: (any NormLayer).self, name: name, with: module)
    }
}

/// GPT-2 (`GPT2LMHeadModel`), head tied to `transformer.wte`.
public final class GPT2Model: CausalLanguageModel {
    /// The configuration it was built from.
    public let configuration: GPT2Configuration
    /// `transformer`.
    public let transformer: GPT2Backbone
    /// `prompt_encoder`: a learned prefix (prompt or prefix tuning), if any.
    public var sequencePrefix: (any SequencePrefix)?
    /// `transformer.h`.
    public var blockPath: String { "transformer.h" }

    /// Module paths whose Hugging Face weights are `Conv1D` ([In, Out]).
    public static let conv1DSuffixes = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]

    /// Builds the model from Hugging Face–named weights (Conv1D weights as stored by HF, [In, Out]).
    public init(configuration c: GPT2Configuration, weights: any WeightArchive) throws {
        try c.validate()
        var r = WeightReader(weights)
        let (C, F) = (c.hiddenSize, c.mlpSize)
        func conv(_ name: String, _ inp: Int, _ out: Int) throws -> Linear {
            let w = try r.parameter(name + ".weight", [inp, out])
            return Linear(weight: Parameter(w.value.transposed().detached, trainable: false), bias: try r.parameter(name + ".bias", [out]))
        }
        func norm(_ name: String) throws -> LayerNorm {
            LayerNorm(weight: try r.parameter(name + ".weight", [C]), bias: try r.parameter(name + ".bias", [C]), epsilon: c.layerNormEpsilon)
        }
        let wte = Embedding(weight: try r.parameter("transformer.wte.weight", [c.vocabularySize, C]))
        let wpe = Embedding(weight: try r.parameter("transformer.wpe.weight", [c.maxPositions, C]))
        var blocks: [GPT2Block] = []
        for i in 0..<c.layerCount {
            let p = "transformer.h.\(i)."
            blocks.append(GPT2Block(
                ln1: try norm(p + "ln_1"),
                attention: GPT2Attention(cAttn: try conv(p + "attn.c_attn", C, 3 * C), cProj: try conv(p + "attn.c_proj", C, C), heads: c.headCount),
                ln2: try norm(p + "ln_2"),
                mlp: GPT2MLP(cFc: try conv(p + "mlp.c_fc", C, F), cProj: try conv(p + "mlp.c_proj", F, C), exactGelu: c.activation == "gelu")))
        }
        let lnF = try norm("transformer.ln_f")
        try r.checkAllUsed { $0.hasSuffix(".attn.bias") || $0.hasSuffix(".attn.masked_bias") || $0 == "lm_head.weight" }
        configuration = c
        transformer = GPT2Backbone(wte: wte, wpe: wpe, blocks: blocks, lnF: lnF)
    }

    /// A randomly initialised model (weights ~ N(0, 0.02), norms 1/0), for tests and benchmarks.
    public convenience init(configuration c: GPT2Configuration, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var w: [String: Tensor] = [:]
        let (C, F) = (c.hiddenSize, c.mlpSize)
        func add(_ name: String, _ shape: [Int]) { w[name] = Tensor.normal(shape, std: 0.02, using: &rng) }
        add("transformer.wte.weight", [c.vocabularySize, C])
        add("transformer.wpe.weight", [c.maxPositions, C])
        func norm(_ name: String) { w[name + ".weight"] = Tensor.ones([C]); w[name + ".bias"] = Tensor.zeros([C]) }
        for i in 0..<c.layerCount {
            let p = "transformer.h.\(i)."
            norm(p + "ln_1"); norm(p + "ln_2")
            for (n, inp, out) in [("attn.c_attn", C, 3 * C), ("attn.c_proj", C, C), ("mlp.c_fc", C, F), ("mlp.c_proj", F, C)] {
                add(p + n + ".weight", [inp, out])
                w[p + n + ".bias"] = Tensor.zeros([out])
            }
        }
        norm("transformer.ln_f")
        try self.init(configuration: c, weights: InMemoryWeights(w))
    }

    public var description: ModelDescription { configuration.description }

    public var children: [(name: String, module: any Module)] {
        [("transformer", transformer)] + (sequencePrefix.map { [("prompt_encoder", $0)] } ?? [])
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        guard name == "prompt_encoder" else { throw ModuleError.noSuchPath(name) }
        try replacePrefix(&sequencePrefix, with: module)
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

    /// The head tied to `wte`.
    var outputHead: OutputHead {
        let table = transformer.wte.weight.tensor
        return OutputHead(denseWeight: table, parameters: [self.transformer.wte.weight]) { Tensor.linear($0, weight: table) }
    }

    /// The blocks and the final norm: the selected rows' hidden states [N, C].
    private func finalHidden(_ input: ModelInput, plan: ForwardPlan, cache: KVCache?) -> Tensor {
        let tokens = plan.withPrefix(transformer.wte(plan.tokenIDs, shape: [plan.batch, plan.length]))
        var h = tokens + transformer.wpe(plan.positions, shape: [plan.batch, tokens.shape[1]])
        for (i, block) in transformer.h.items.enumerated() {
            let context = plan.context(layer: i, cache: cache)
            h = plan.checkpointing(h, block: block) { block($0, context: context) }
        }
        return transformer.lnF(endForward(h, plan: plan, input: input, cache: cache))
    }
}
