/// The architecture hyper-parameters a GGUF file records under `<arch>.*` keys.
public struct GGUFModelParameters: Sendable, Equatable {
    /// `general.architecture`, e.g. `qwen2`.
    public let architecture: String
    /// Number of transformer blocks (`<arch>.block_count`).
    public let blockCount: Int
    /// Hidden size (`<arch>.embedding_length`).
    public let embeddingLength: Int
    /// Inner size of the feed-forward network (`<arch>.feed_forward_length`).
    public let feedForwardLength: Int
    /// Query heads (`<arch>.attention.head_count`).
    public let headCount: Int
    /// Key/value heads (`<arch>.attention.head_count_kv`; equals `headCount` when absent).
    public let headCountKV: Int
    /// Training context length (`<arch>.context_length`).
    public let contextLength: Int
    /// Vocabulary size: the length of `tokenizer.ggml.tokens`, else `<arch>.vocab_size`, else the
    /// rows of `token_embd.weight`.
    public let vocabularySize: Int
    /// RMSNorm epsilon (`<arch>.attention.layer_norm_rms_epsilon`), for Llama-style models.
    public let rmsNormEpsilon: Float?
    /// LayerNorm epsilon (`<arch>.attention.layer_norm_epsilon`), for GPT-2-style models.
    public let layerNormEpsilon: Float?
    /// Rotary embedding base (`<arch>.rope.freq_base`), when recorded.
    public let ropeFreqBase: Float?
    /// Per-head dimension (`<arch>.attention.key_length`, else embedding length / heads).
    public let headDimension: Int
    /// Rotary scaling method (`<arch>.rope.scaling.type`: "linear", "yarn", …; "linear" when only
    /// the older `<arch>.rope.scale_linear` is present), or nil for none.
    public let ropeScalingType: String?
    /// Rotary scaling factor (`<arch>.rope.scaling.factor` or `<arch>.rope.scale_linear`).
    public let ropeScalingFactor: Float?
    /// Context the model was trained with before scaling (`<arch>.rope.scaling.original_context_length`).
    public let ropeScalingOriginalContextLength: Int?
    /// Sliding-window attention width (`<arch>.attention.sliding_window`), when recorded.
    public let slidingWindow: Int?

    /// Reads the hyper-parameters of `file`.
    /// - Throws: ``GGUFError/missingKey(_:)`` or ``GGUFError/typeMismatch(key:expected:)`` when a
    ///   required value is absent or not a number.
    public init(file: GGUFFile) throws {
        let arch = try file.string(forKey: "general.architecture")
        func int(_ key: String) throws -> Int {
            let value = try file.int(forKey: "\(arch).\(key)")
            guard value > 0 else { throw GGUFError.typeMismatch(key: "\(arch).\(key)", expected: "a positive integer") }
            return value
        }
        func optionalFloat(_ key: String) throws -> Float? {
            file["\(arch).\(key)"] == nil ? nil : Float(try file.double(forKey: "\(arch).\(key)"))
        }
        architecture = arch
        blockCount = try int("block_count")
        embeddingLength = try int("embedding_length")
        feedForwardLength = try int("feed_forward_length")
        headCount = try int("attention.head_count")
        headCountKV = file["\(arch).attention.head_count_kv"] == nil ? headCount : try int("attention.head_count_kv")
        contextLength = try int("context_length")
        rmsNormEpsilon = try optionalFloat("attention.layer_norm_rms_epsilon")
        layerNormEpsilon = try optionalFloat("attention.layer_norm_epsilon")
        ropeFreqBase = try optionalFloat("rope.freq_base")
        headDimension = file["\(arch).attention.key_length"] == nil
            ? embeddingLength / headCount : try int("attention.key_length")
        let scaleLinear = try optionalFloat("rope.scale_linear")
        if file["\(arch).rope.scaling.type"] != nil {
            let type = try file.string(forKey: "\(arch).rope.scaling.type")
            ropeScalingType = type == "none" ? nil : type
        } else {
            ropeScalingType = scaleLinear == nil ? nil : "linear"
        }
        ropeScalingFactor = try optionalFloat("rope.scaling.factor") ?? scaleLinear
        ropeScalingOriginalContextLength = file["\(arch).rope.scaling.original_context_length"] == nil
            ? nil : try int("rope.scaling.original_context_length")
        slidingWindow = file["\(arch).attention.sliding_window"] == nil ? nil : try int("attention.sliding_window")
        if let tokens = file["tokenizer.ggml.tokens"] {
            guard let list = tokens.array else {
                throw GGUFError.typeMismatch(key: "tokenizer.ggml.tokens", expected: "an array")
            }
            vocabularySize = list.count
        } else if file["\(arch).vocab_size"] != nil {
            vocabularySize = try int("vocab_size")
        } else if let embedding = try? file.tensorInfo(named: "token_embd.weight") {
            vocabularySize = embedding.shape[0]
        } else {
            throw GGUFError.missingKey("tokenizer.ggml.tokens")
        }
    }
}
