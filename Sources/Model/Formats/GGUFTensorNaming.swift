/// Translation of GGUF tensor names to Hugging Face module paths, with the layout change each
/// tensor needs to match the PyTorch module.
enum GGUFTensorNaming {
    /// Name conventions by architecture family.
    enum Family: Sendable {
        /// Llama-style decoders (`LlamaForCausalLM`, `Qwen2ForCausalLM`). `permutedQK`: the
        /// converter reordered attn_q/attn_k rows for ggml's rotary layout (true for `llama`).
        case llama(permutedQK: Bool)
        /// `GPT2LMHeadModel`.
        case gpt2

        init(architecture: String) throws(GGUFError) {
            switch architecture {
            case "llama": self = .llama(permutedQK: true)
            case "qwen2": self = .llama(permutedQK: false)
            case "gpt2": self = .gpt2
            default: throw .unsupportedArchitecture(architecture)
            }
        }
    }

    /// How a tensor's stored layout differs from the Hugging Face one.
    enum Transform: Sendable, Equatable {
        case none
        /// Undo llama.cpp's rotary row permutation for a projection with `heads` heads.
        case unpermuteRotaryRows(heads: Int)
        /// Store a linear weight [out, in] as a GPT-2 `Conv1D` weight [in, out].
        case transpose
    }

    /// The Hugging Face name and layout transform for GGUF tensor `name`, or nil when the name
    /// has no Hugging Face counterpart in this family.
    static func huggingFace(_ name: String, family: Family, headCount: Int, headCountKV: Int) -> (String, Transform)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch family {
        case .llama(let permuted):
            if let global = llamaGlobals[name] { return (global, .none) }
            guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0,
                  let module = llamaBlock[parts[2]], ["weight", "bias"].contains(parts[3]) else { return nil }
            var transform = Transform.none
            if permuted && parts[2] == "attn_q" { transform = .unpermuteRotaryRows(heads: headCount) }
            if permuted && parts[2] == "attn_k" { transform = .unpermuteRotaryRows(heads: headCountKV) }
            return ("model.layers.\(layer).\(module).\(parts[3])", transform)
        case .gpt2:
            if let global = gpt2Globals[name] { return (global, .none) }
            guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0,
                  let (module, isConv1D) = gpt2Block[parts[2]], ["weight", "bias"].contains(parts[3]) else { return nil }
            let transform: Transform = isConv1D && parts[3] == "weight" ? .transpose : .none
            return ("transformer.h.\(layer).\(module).\(parts[3])", transform)
        }
    }

    static let llamaGlobals = [
        "token_embd.weight": "model.embed_tokens.weight",
        "output_norm.weight": "model.norm.weight",
        "output.weight": "lm_head.weight",
    ]

    static let llamaBlock = [
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    ]

    static let gpt2Globals = [
        "token_embd.weight": "transformer.wte.weight",
        "position_embd.weight": "transformer.wpe.weight",
        "output_norm.weight": "transformer.ln_f.weight",
        "output_norm.bias": "transformer.ln_f.bias",
        "output.weight": "lm_head.weight",
    ]

    /// GGUF block component → (Hugging Face module, stored as a `Conv1D`).
    static let gpt2Block: [String: (String, Bool)] = [
        "attn_qkv": ("attn.c_attn", true), "attn_output": ("attn.c_proj", true),
        "ffn_up": ("mlp.c_fc", true), "ffn_down": ("mlp.c_proj", true),
        "attn_norm": ("ln_1", false), "ffn_norm": ("ln_2", false),
    ]
}
