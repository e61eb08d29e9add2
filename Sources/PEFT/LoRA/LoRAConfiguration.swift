import Foundation

/// Which linear layers an adapter wraps.
public enum TargetModules: Sendable, Equatable, Codable {
    /// Module names matched as PEFT does: a module path equal to a name or ending in "." + name
    /// (e.g. `q_proj` matches `model.layers.3.self_attn.q_proj`).
    case names([String])
    /// A regular expression that must match the whole module path.
    case pattern(String)
    /// Every linear layer except the output head (PEFT's `all-linear`).
    case allLinear

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let list = try? c.decode([String].self) { self = .names(list); return }
        let s = try c.decode(String.self)
        self = s == "all-linear" ? .allLinear : .pattern(s)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .names(let n): try c.encode(n)
        case .pattern(let p): try c.encode(p)
        case .allLinear: try c.encode("all-linear")
        }
    }
}

/// How LoRA's A matrix starts (B always starts at zero so the adapter begins as a no-op).
public enum LoRAInitialization: Sendable, Equatable, Codable {
    /// Kaiming-uniform with a = √5, PEFT's default (`init_lora_weights: true`).
    case kaimingUniform
    /// Normal with std 1/r (`init_lora_weights: "gaussian"`).
    case gaussian

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = b ? .kaimingUniform : .kaimingUniform; return }
        let s = try c.decode(String.self)
        guard s == "gaussian" else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported init_lora_weights '\(s)'")
        }
        self = .gaussian
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .kaimingUniform: try c.encode(true)
        case .gaussian: try c.encode("gaussian")
        }
    }
}

/// A LoRA adapter's settings, stored as Hugging Face PEFT's `adapter_config.json`.
public struct LoRAConfiguration: Sendable, Equatable, Codable {
    /// Rank r.
    public var rank: Int
    /// Scaling numerator α (scale = α/r, or α/√r with rsLoRA).
    public var alpha: Float
    /// Dropout on the adapter's input during training.
    public var dropout: Float
    /// Layers to wrap.
    public var targetModules: TargetModules
    /// Scale by α/√r instead of α/r.
    public var useRSLoRA: Bool
    /// Initialisation of A.
    public var initialization: LoRAInitialization
    /// Only wrap layers with these block indices (nil: all).
    public var layersToTransform: [Int]?
    /// Per-module rank overrides (keys are regular expressions or names, as in PEFT).
    public var rankPattern: [String: Int]
    /// Per-module α overrides.
    public var alphaPattern: [String: Float]
    /// Base model the adapter was trained on.
    public var baseModelNameOrPath: String?
    /// PEFT's `bias` ("none" is the only supported value).
    public var bias: String
    /// DoRA (unsupported: rejected when loading).
    public var useDoRA: Bool
    /// Extra modules trained and saved in full (unsupported beyond an empty list).
    public var modulesToSave: [String]?
    /// PEFT's `task_type`.
    public var taskType: String
    /// PEFT's `inference_mode`.
    public var inferenceMode: Bool
    /// Whether the base stores weights [In, Out] (GPT-2 Conv1D), PEFT's `fan_in_fan_out`.
    public var fanInFanOut: Bool

    /// A configuration with PEFT's defaults for everything not given.
    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targetModules: TargetModules = .names(["q_proj", "v_proj"]),
                useRSLoRA: Bool = false, initialization: LoRAInitialization = .kaimingUniform, layersToTransform: [Int]? = nil,
                rankPattern: [String: Int] = [:], alphaPattern: [String: Float] = [:], baseModelNameOrPath: String? = nil) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = targetModules
        self.useRSLoRA = useRSLoRA
        self.initialization = initialization
        self.layersToTransform = layersToTransform
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.baseModelNameOrPath = baseModelNameOrPath
        self.bias = "none"
        self.useDoRA = false
        self.modulesToSave = nil
        self.taskType = "CAUSAL_LM"
        self.inferenceMode = false
        self.fanInFanOut = false
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", rank = "r", alpha = "lora_alpha", dropout = "lora_dropout"
        case targetModules = "target_modules", useRSLoRA = "use_rslora", initialization = "init_lora_weights"
        case layersToTransform = "layers_to_transform", rankPattern = "rank_pattern", alphaPattern = "alpha_pattern"
        case baseModelNameOrPath = "base_model_name_or_path", bias, useDoRA = "use_dora"
        case modulesToSave = "modules_to_save", taskType = "task_type", inferenceMode = "inference_mode"
        case fanInFanOut = "fan_in_fan_out"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .peftType) ?? "LORA"
        guard type == "LORA" else { throw LoRAError.unsupported("peft_type '\(type)'") }
        self.init(rank: try c.decodeIfPresent(Int.self, forKey: .rank) ?? 8,
                  alpha: try c.decodeIfPresent(Float.self, forKey: .alpha) ?? 8,
                  dropout: try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0,
                  targetModules: try c.decodeIfPresent(TargetModules.self, forKey: .targetModules) ?? .names(["q_proj", "v_proj"]),
                  useRSLoRA: try c.decodeIfPresent(Bool.self, forKey: .useRSLoRA) ?? false,
                  initialization: try c.decodeIfPresent(LoRAInitialization.self, forKey: .initialization) ?? .kaimingUniform,
                  layersToTransform: try Self.decodeLayers(c),
                  rankPattern: try c.decodeIfPresent([String: Int].self, forKey: .rankPattern) ?? [:],
                  alphaPattern: try c.decodeIfPresent([String: Float].self, forKey: .alphaPattern) ?? [:],
                  baseModelNameOrPath: try c.decodeIfPresent(String.self, forKey: .baseModelNameOrPath))
        bias = try c.decodeIfPresent(String.self, forKey: .bias) ?? "none"
        useDoRA = try c.decodeIfPresent(Bool.self, forKey: .useDoRA) ?? false
        modulesToSave = try c.decodeIfPresent([String].self, forKey: .modulesToSave)
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType) ?? "CAUSAL_LM"
        inferenceMode = try c.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? false
        fanInFanOut = try c.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false
    }

    private static func decodeLayers(_ c: KeyedDecodingContainer<CodingKeys>) throws -> [Int]? {
        if let one = try? c.decodeIfPresent(Int.self, forKey: .layersToTransform) { return [one] }
        return try c.decodeIfPresent([Int].self, forKey: .layersToTransform)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("LORA", forKey: .peftType)
        try c.encode(rank, forKey: .rank)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(targetModules, forKey: .targetModules)
        try c.encode(useRSLoRA, forKey: .useRSLoRA)
        try c.encode(initialization, forKey: .initialization)
        try c.encode(layersToTransform, forKey: .layersToTransform)
        try c.encode(rankPattern, forKey: .rankPattern)
        try c.encode(alphaPattern, forKey: .alphaPattern)
        try c.encode(baseModelNameOrPath, forKey: .baseModelNameOrPath)
        try c.encode(bias, forKey: .bias)
        try c.encode(useDoRA, forKey: .useDoRA)
        try c.encode(modulesToSave, forKey: .modulesToSave)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(inferenceMode, forKey: .inferenceMode)
        try c.encode(fanInFanOut, forKey: .fanInFanOut)
    }

    /// Checks the settings are usable.
    public func validate() throws {
        guard rank > 0 else { throw LoRAError.invalidConfiguration("r must be positive, got \(rank)") }
        guard dropout >= 0 && dropout < 1 else { throw LoRAError.invalidConfiguration("lora_dropout must be in [0, 1), got \(dropout)") }
        guard bias == "none" else { throw LoRAError.unsupported("bias '\(bias)' (only \"none\")") }
        guard !useDoRA else { throw LoRAError.unsupported("DoRA (use_dora)") }
        guard (modulesToSave ?? []).isEmpty else { throw LoRAError.unsupported("modules_to_save") }
        if case .pattern(let p) = targetModules, (try? NSRegularExpression(pattern: p)) == nil {
            throw LoRAError.invalidConfiguration("target_modules is not a valid regular expression: \(p)")
        }
    }

    /// Rank and scale for the module at `path`, after rank/alpha patterns.
    func rankAndScale(for path: String) -> (rank: Int, scale: Float) {
        let r = Self.patternValue(rankPattern, path) ?? rank
        let a = Self.patternValue(alphaPattern, path) ?? alpha
        return (r, useRSLoRA ? a / Float(r).squareRoot() : a / Float(r))
    }

    /// PEFT matches pattern keys as regular expressions against the end of the module path.
    private static func patternValue<V>(_ patterns: [String: V], _ path: String) -> V? {
        for (key, value) in patterns.sorted(by: { $0.key < $1.key }) {
            if path == key || path.hasSuffix("." + key) { return value }
            if let re = try? NSRegularExpression(pattern: "(.*\\.)?" + key + "$"),
               re.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil { return value }
        }
        return nil
    }
}

/// Errors from creating, loading or using LoRA adapters.
public enum LoRAError: Error, Equatable, CustomStringConvertible {
    /// A setting is out of range.
    case invalidConfiguration(String)
    /// A PEFT feature Tailor does not implement.
    case unsupported(String)
    /// No module matched the target list.
    case noTargetModules(String)
    /// An adapter name is unknown or already taken.
    case adapterName(String)
    /// An adapter file does not fit the model.
    case incompatibleAdapter(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid LoRA configuration: \(s)"
        case .unsupported(let s): return "unsupported PEFT feature: \(s)"
        case .noTargetModules(let s): return "no linear module matches target_modules \(s)"
        case .adapterName(let s): return s
        case .incompatibleAdapter(let s): return "adapter does not fit the model: \(s)"
        }
    }
}
