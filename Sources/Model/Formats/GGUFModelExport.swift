import Foundation
import Quant
import Tensor

/// Writing a model as a GGUF file that llama.cpp (and Tailor) load.
///
/// Supported: ``LlamaModel`` (written as `llama`, with llama.cpp's rotary row order for q/k, or as
/// `qwen2`, biases included) and ``GPT2Model`` (`gpt2`). Weight matrices are stored as the chosen
/// ``WeightType``; norms, biases and rotary factors stay F32, and a matrix whose rows are not a
/// whole number of blocks falls back to F16, as llama.cpp's converter does. For the K types, whose
/// blocks are 256 values, such a matrix first falls back to the 32-value type `llama-quantize` picks
/// (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0), and to F16 only if its rows are not whole 32-value
/// blocks either. Tied embeddings are written once (`token_embd.weight`, no `output.weight`).
///
/// Adapter layers are written as the base they wrap — merge an adapter first to bake it in (the
/// PEFT module's `Adapters.exportGGUF` does both) — and adapters that add modules of their own
/// (bottlenecks, learned prefixes) are rejected.
public enum GGUFExport {
    /// How weight matrices are stored.
    public enum WeightType: String, Sendable, CaseIterable {
        /// Float32, exact.
        case f32
        /// IEEE half precision.
        case f16
        /// bfloat16.
        case bf16
        /// 8-bit blocks of 32 with an fp16 scale.
        case q8_0
        /// 5-bit blocks of 32 with an fp16 scale.
        case q5_0
        /// 4-bit blocks of 32 with an fp16 scale.
        case q4_0
        /// 5-bit blocks of 32 with an fp16 scale and minimum.
        case q5_1
        /// 4-bit blocks of 32 with an fp16 scale and minimum.
        case q4_1
        /// 6-bit super-blocks of 256 (16 sub-blocks with 8-bit scales), 6.56 bits per weight; the
        /// codes are ggml's reference `quantize_row_q6_K_ref` (what `llama-quantize` writes without
        /// an importance matrix). Close to Q8_0 in quality.
        case q6_K = "q6_k"
        /// 5-bit super-blocks of 256 (8 sub-blocks with 6-bit scales and minimums), 5.5 bits per
        /// weight; ggml's reference quantizer. Somewhat more error than Q6_K.
        case q5_K = "q5_k"
        /// 4-bit super-blocks of 256 (8 sub-blocks with 6-bit scales and minimums), 4.5 bits per
        /// weight; ggml's reference quantizer. Each bit fewer roughly quadruples the squared weight
        /// error, so this is the lossiest type here: expect a measurable quality cost. The export is
        /// uniform — unlike llama-quantize's Q4_K_M, no tensor is kept at a higher precision.
        case q4_K = "q4_k"

        /// The ggml type of the matrices.
        public var ggmlType: GGMLType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            case .q8_0: return .q8_0
            case .q5_0: return .q5_0
            case .q4_0: return .q4_0
            case .q5_1: return .q5_1
            case .q4_1: return .q4_1
            case .q6_K: return .q6_K
            case .q5_K: return .q5_K
            case .q4_K: return .q4_K
            }
        }

        /// The 32-value type `llama-quantize` uses for a matrix whose rows are not whole 256-value
        /// blocks (its `tensor_type_fallback`); nil for the other types.
        var fallback: GGMLType? {
            switch self {
            case .q6_K: return .q8_0
            case .q5_K: return .q5_1
            case .q4_K: return .q5_0
            default: return nil
            }
        }

        /// llama.cpp's `llama_ftype` for `general.file_type`.
        var fileType: UInt32 {
            switch self {
            case .f32: return 0
            case .f16: return 1
            case .bf16: return 32
            case .q8_0: return 7
            case .q5_0: return 8
            case .q4_0: return 2
            case .q5_1: return 9
            case .q4_1: return 3
            case .q6_K: return 18  // LLAMA_FTYPE_MOSTLY_Q6_K
            case .q5_K: return 16  // LLAMA_FTYPE_MOSTLY_Q5_K_S (K type for every matrix)
            case .q4_K: return 14  // LLAMA_FTYPE_MOSTLY_Q4_K_S
            }
        }
    }

    /// Writes `model` to `url` (atomically).
    ///
    /// - Parameters:
    ///   - weightType: storage of the weight matrices.
    ///   - source: the `.gguf` file or Hugging Face folder the model was loaded from; its tokenizer
    ///     and descriptive metadata are carried over (see ``GGUFTokenizerMetadata``). Without one
    ///     the file has no vocabulary (`tokenizer.ggml.model = none`).
    /// - Throws: ``GGUFExportError`` for a model or tokenizer GGUF cannot describe, or on I/O failure.
    public static func save(_ model: any CausalLanguageModel, to url: URL, weightType: WeightType = .f16, source: URL? = nil) throws {
        try writer(for: model, weightType: weightType, source: source).write(to: url)
    }

    /// The file ``save(_:to:weightType:source:)`` writes, before writing (to add or change keys).
    public static func writer(for model: any CausalLanguageModel, weightType: WeightType = .f16, source: URL? = nil) throws -> GGUFWriter {
        try rejectAddedModules(model)
        let layout = try GGUFArchitectureLayout(model)
        var w = GGUFWriter()
        w.set("general.architecture", .string(layout.architecture))
        w.set("general.type", .string("model"))
        for (key, value) in layout.metadata { w.set(key, value) }
        w.set("general.file_type", .uint32(weightType.fileType))
        if weightType.ggmlType.blockSize > 1 { w.set("general.quantization_version", .uint32(2)) }
        for (key, value) in try GGUFTokenizerMetadata.keys(from: source, vocabularySize: layout.vocabularySize) {
            if key.hasPrefix("general."), w[key] != nil { continue }
            w.set(key, value)
        }
        if w["general.name"] == nil { w.set("general.name", .string(source?.deletingPathExtension().lastPathComponent ?? "tailor-export")) }
        for (name, tensor) in try layout.tensors(of: model) {
            try w.add(name, tensor, as: storageType(for: tensor, weightType: weightType))
        }
        return w
    }

    /// F32 for vectors; the requested type for matrices whose rows are whole blocks; for a K type
    /// whose blocks do not fit, llama-quantize's 32-value fallback; else F16.
    static func storageType(for tensor: Tensor, weightType: WeightType) -> GGMLType {
        guard tensor.rank >= 2 else { return .f32 }
        let row = tensor.shape.last ?? 0
        var type = weightType.ggmlType
        if row % type.blockSize != 0, let fallback = weightType.fallback { type = fallback }
        return row % type.blockSize == 0 ? type : .f16
    }

    /// Adapters that are not folded into a wrapped layer have no place in a GGUF model file.
    static func rejectAddedModules(_ model: any CausalLanguageModel) throws {
        for (path, layer) in model.adapterLayers() where layer.wrapped == nil && !layer.adapterNames.isEmpty {
            throw GGUFExportError.unsupportedModel("the adapter layer at '\(path.isEmpty ? "(root)" : path)' (\(type(of: layer))) adds modules that GGUF has no place for")
        }
    }
}

/// Architecture-specific names, keys and layouts of a model's GGUF file.
struct GGUFArchitectureLayout {
    let architecture: String
    let family: GGUFTensorNaming.Family
    let vocabularySize: Int
    var metadata: [(String, GGUFValue)] = []
    /// Rotary row permutation (llama.cpp's `llama` layout): heads of q and k.
    var permutedHeads: (q: Int, k: Int)?
    /// Per-frequency rotary divisors, written as `rope_freqs.weight`.
    var ropeFactors: [Float]?

    init(_ model: any CausalLanguageModel) throws {
        if let llama = model as? LlamaModel {
            let c = llama.configuration
            guard c.hiddenActivation == "silu" else { throw GGUFExportError.unsupportedModel("hidden_act '\(c.hiddenActivation)' (llama.cpp's llama and qwen2 use silu)") }
            guard !c.mlpBias else { throw GGUFExportError.unsupportedModel("MLP biases (mlp_bias) in a Llama-family model") }
            architecture = c.modelType == "qwen2" ? "qwen2" : "llama"
            family = .llama(permutedQK: architecture == "llama")
            vocabularySize = c.vocabularySize
            if architecture == "llama" { permutedHeads = (c.headCount, c.kvHeadCount) }
            let a = architecture
            metadata = [
                ("\(a).context_length", .uint32(UInt32(c.maxPositions))),
                ("\(a).embedding_length", .uint32(UInt32(c.hiddenSize))),
                ("\(a).block_count", .uint32(UInt32(c.layerCount))),
                ("\(a).feed_forward_length", .uint32(UInt32(c.intermediateSize))),
                ("\(a).attention.head_count", .uint32(UInt32(c.headCount))),
                ("\(a).attention.head_count_kv", .uint32(UInt32(c.kvHeadCount))),
                ("\(a).rope.freq_base", .float32(c.ropeTheta)),
                ("\(a).attention.layer_norm_rms_epsilon", .float32(c.rmsNormEpsilon)),
                ("\(a).attention.key_length", .uint32(UInt32(c.headDimension))),
                ("\(a).attention.value_length", .uint32(UInt32(c.headDimension))),
                ("\(a).rope.dimension_count", .uint32(UInt32(c.headDimension))),
                ("\(a).vocab_size", .uint32(UInt32(c.vocabularySize))),
            ]
            if let window = c.slidingWindow { metadata.append(("\(a).attention.sliding_window", .uint32(UInt32(window)))) }
            try addRopeScaling(c)
        } else if let gpt2 = model as? GPT2Model {
            let c = gpt2.configuration
            guard c.activation == "gelu_new" else {
                throw GGUFExportError.unsupportedModel("activation_function '\(c.activation)' (llama.cpp's gpt2 uses the tanh GELU, gelu_new)")
            }
            architecture = "gpt2"
            family = .gpt2
            vocabularySize = c.vocabularySize
            metadata = [
                ("gpt2.context_length", .uint32(UInt32(c.maxPositions))),
                ("gpt2.embedding_length", .uint32(UInt32(c.hiddenSize))),
                ("gpt2.block_count", .uint32(UInt32(c.layerCount))),
                ("gpt2.feed_forward_length", .uint32(UInt32(c.mlpSize))),
                ("gpt2.attention.head_count", .uint32(UInt32(c.headCount))),
                ("gpt2.attention.layer_norm_epsilon", .float32(c.layerNormEpsilon)),
                ("gpt2.vocab_size", .uint32(UInt32(c.vocabularySize))),
            ]
        } else {
            throw GGUFExportError.unsupportedModel("\(type(of: model)) has no GGUF layout (supported: LlamaModel, GPT2Model)")
        }
    }

    /// `rope.scaling.*` keys for linear scaling; `rope_freqs.weight` for Llama 3 and per-frequency scaling.
    private mutating func addRopeScaling(_ c: LlamaConfiguration) throws {
        guard let scaling = c.ropeScaling, scaling.type != "default" else { return }
        let a = architecture
        switch scaling.type {
        case "linear":
            guard let factor = scaling.factor else { throw GGUFExportError.unsupportedModel("linear rope scaling without a factor") }
            metadata += [("\(a).rope.scaling.type", .string("linear")), ("\(a).rope.scaling.factor", .float32(factor))]
        case "llama3", "frequency_factors":
            let D = c.headDimension
            let plain = RopeScaling.defaultInverseFrequencies(dimension: D, base: c.ropeTheta)
            let scaled = try scaling.inverseFrequencies(dimension: D, base: c.ropeTheta)
            ropeFactors = zip(plain, scaled).map { $0 / $1 }
        default:
            throw GGUFExportError.unsupportedModel("rope scaling '\(scaling.type)' (exported: linear, llama3, frequency_factors)")
        }
    }

    /// The model's tensors under GGUF names, in file order: embeddings, rotary factors, blocks in
    /// order, final norm, output head.
    func tensors(of model: any CausalLanguageModel) throws -> [(String, Tensor)] {
        var byHF: [String: Tensor] = [:]
        ModelExport.collect(model, path: "", conv1D: [], into: &byHF)
        var named: [(key: (Int, Int, String), name: String, tensor: Tensor)] = []
        for (hf, tensor) in byHF {
            guard let name = GGUFTensorNaming.gguf(hf, family: family) else {
                throw GGUFExportError.unsupportedModel("tensor '\(hf)' has no GGUF name")
            }
            named.append((Self.order(name), name, try transformed(tensor, name: name)))
        }
        if let ropeFactors { named.append(((0, 2, ""), LlamaModel.ropeFactorsName, try Tensor(shape: [ropeFactors.count], values: ropeFactors))) }
        return named.sorted { $0.key < $1.key }.map { ($0.name, $0.tensor) }
    }

    /// Sort key: globals before blocks, blocks by index, the output head last.
    static func order(_ name: String) -> (Int, Int, String) {
        switch name {
        case "token_embd.weight": return (0, 0, name)
        case "position_embd.weight": return (0, 1, name)
        case "output.weight": return (3, 0, name)
        default:
            let parts = name.split(separator: ".")
            if parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) { return (1, layer, name) }
            return (2, 0, name)
        }
    }

    /// llama.cpp's rotary row order for `llama` q/k weights and biases.
    func transformed(_ tensor: Tensor, name: String) throws -> Tensor {
        guard let heads = permutedHeads else { return tensor }
        if name.contains(".attn_q.") { return try WeightLayout.permuteRotaryRows(tensor, heads: heads.q, name: name) }
        if name.contains(".attn_k.") { return try WeightLayout.permuteRotaryRows(tensor, heads: heads.k, name: name) }
        return tensor
    }
}
