import Foundation
import Quant
import Tensor

/// A GGUF model seen as a Hugging Face checkpoint: tensors named by PyTorch module path and laid
/// out as the `transformers` modules hold them, matching what `transformers` loads from the same
/// GGUF file.
///
/// Supported architectures: `llama` and `qwen2` (names `model.embed_tokens.weight`,
/// `model.layers.N.self_attn.q_proj.weight`, …; `llama` q/k rows are un-permuted from
/// llama.cpp's rotary order, `qwen2` ones are stored unpermuted) and `gpt2` (names
/// `transformer.h.N.attn.c_attn.weight`, …). GPT-2's `c_attn`, `attn.c_proj`, `c_fc` and
/// `mlp.c_proj` weights are returned in Hugging Face's `Conv1D` layout **[in, out]** (the
/// transpose of a linear layer's [out, in]), exactly as in a Hugging Face GPT-2 checkpoint.
/// A GGUF without `output.weight` has tied embeddings, and then no `lm_head.weight` is listed.
/// GGUF tensors without a Hugging Face counterpart are listed under their GGUF names.
public struct GGUFWeightArchive: WeightArchive {
    /// The underlying file.
    public let file: GGUFFile
    /// Hyper-parameters from the file's metadata.
    public let parameters: GGUFModelParameters
    /// Hugging Face tensor names, in file order.
    public let tensorNames: [String]

    private let sources: [String: (gguf: String, transform: GGUFTensorNaming.Transform)]

    /// Wraps an opened GGUF file.
    /// - Throws: ``GGUFError/unsupportedArchitecture(_:)`` or errors reading the hyper-parameters.
    public init(file: GGUFFile) throws {
        let family = try GGUFTensorNaming.Family(architecture: try file.string(forKey: "general.architecture"))
        let parameters = try GGUFModelParameters(file: file)
        var names: [String] = []
        var sources: [String: (gguf: String, transform: GGUFTensorNaming.Transform)] = [:]
        for info in file.tensors {
            let (name, transform) = GGUFTensorNaming.huggingFace(
                info.name, family: family, headCount: parameters.headCount, headCountKV: parameters.headCountKV)
                ?? (info.name, .none)
            guard sources[name] == nil else { throw GGUFError.duplicateTensor(name) }
            sources[name] = (info.name, transform)
            names.append(name)
        }
        self.file = file
        self.parameters = parameters
        self.tensorNames = names
        self.sources = sources
    }

    /// Opens the GGUF file at `url`.
    public init(contentsOf url: URL) throws {
        try self.init(file: try GGUFFile(contentsOf: url))
    }

    /// The GGUF name behind Hugging Face name `name`, or nil.
    public func ggufName(for name: String) -> String? { sources[name]?.gguf }

    /// Shape of tensor `name` in the Hugging Face layout.
    public func shape(of name: String) throws -> [Int] {
        guard let source = sources[name] else { throw GGUFError.missingTensor(name) }
        let shape = try file.tensorInfo(named: source.gguf).shape
        return source.transform == .transpose ? shape.reversed() : shape
    }

    /// Tensor `name`, dequantized to Float32 and in the Hugging Face layout.
    public func tensor(named name: String) throws -> Tensor {
        guard let source = sources[name] else { throw GGUFError.missingTensor(name) }
        let stored = try file.float32(named: source.gguf)
        switch source.transform {
        case .none: return stored
        case .unpermuteRotaryRows(let heads): return try WeightLayout.unpermuteRotaryRows(stored, heads: heads, name: source.gguf)
        case .transpose: return try WeightLayout.transposed(stored, name: source.gguf)
        }
    }
}

extension GGUFWeightArchive: QuantizedWeightArchive {
    /// A 2-D weight stored in a block format (or F16/BF16): a zero-copy view into the mapped file,
    /// or for a `llama` q/k projection a copy with its rows in Hugging Face's rotary order (the
    /// file's pages dropped again); nil for F32, 1-D or transposed tensors.
    public func quantizedMatrix(named name: String) throws -> QuantizedMatrix? {
        guard let source = sources[name], source.transform != .transpose else { return nil }
        let info = try file.tensorInfo(named: source.gguf)
        guard info.type != .f32, info.shape.count == 2 else { return nil }
        let (bytes, owner) = file.retainedRawBytes(of: info)
        let stored = try QuantizedMatrix(type: info.type, rows: info.shape[0], columns: info.shape[1], bytes: bytes, owner: owner)
        guard case .unpermuteRotaryRows(let heads) = source.transform else { return stored }
        let rearranged = try WeightLayout.unpermuteRotaryRows(stored, heads: heads, name: source.gguf)
        stored.releaseResidentPages()
        return rearranged
    }
}
