import Foundation
import Model
import Tensor

/// How LoRA's matrices start.
public enum LoRAInitialization: Sendable, Equatable, Codable {
    /// A Kaiming-uniform with a = √5, B = 0: the adapter starts as a no-op (`init_lora_weights: true`).
    case kaimingUniform
    /// A normal with std 1/r, B = 0 (`init_lora_weights: "gaussian"`).
    case gaussian
    /// A and B both Kaiming-uniform, as PyTorch initialises a linear layer: the adapter changes the
    /// model from the start (`init_lora_weights: false`).
    case random

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = b ? .kaimingUniform : .random; return }
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
        case .random: try c.encode(false)
        }
    }
}

/// A LoRA adapter's settings — PEFT's `LoraConfig`, stored as its `adapter_config.json`: low-rank
/// updates y = W·x + s·B·A·x on the targeted linear layers, optionally DoRA (a learned magnitude per
/// output row) and rsLoRA (s = α/√r).
public struct LoRAConfiguration: AdapterMethod, Equatable {
    public static let peftType = "LORA"

    /// Rank r.
    public var rank: Int
    /// Scaling numerator α (scale = α/r, or α/√r with rsLoRA).
    public var alpha: Float
    /// Dropout on the adapter's input during training.
    public var dropout: Float
    /// Layers to wrap.
    public var targetModules: TargetModules
    /// Layers never to wrap.
    public var excludeModules: TargetModules?
    /// Scale by α/√r instead of α/r.
    public var useRSLoRA: Bool
    /// Initialisation of A and B.
    public var initialization: LoRAInitialization
    /// Only wrap layers with these block indices (nil: all).
    public var layersToTransform: [Int]?
    /// Name of the block list `layersToTransform` counts in (nil: the architecture's).
    public var layersPattern: [String]?
    /// Per-module rank overrides (keys are regular expressions or names, as in PEFT).
    public var rankPattern: [String: Int]
    /// Per-module α overrides.
    public var alphaPattern: [String: Float]
    /// Base model the adapter was trained on.
    public var baseModelNameOrPath: String?
    /// PEFT's `bias` ("none" is the only supported value).
    public var bias: String
    /// DoRA: a learned magnitude vector rescales each output row of the adapted weight.
    public var useDoRA: Bool
    /// A trainable bias on B (`lora_bias`).
    public var loraBias: Bool
    /// Base modules trained and saved in full (`modules_to_save`): names matched against the end of module paths.
    public var modulesToSave: [String]?
    /// PEFT's `task_type`.
    public var taskType: String
    /// PEFT's `inference_mode`.
    public var inferenceMode: Bool
    /// Whether the base stores weights [In, Out] (GPT-2 Conv1D), PEFT's `fan_in_fan_out`.
    public var fanInFanOut: Bool

    /// A configuration with PEFT's defaults for everything not given.
    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targetModules: TargetModules = .names(["q_proj", "v_proj"]),
                useRSLoRA: Bool = false, useDoRA: Bool = false, initialization: LoRAInitialization = .kaimingUniform,
                layersToTransform: [Int]? = nil, rankPattern: [String: Int] = [:], alphaPattern: [String: Float] = [:],
                baseModelNameOrPath: String? = nil) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = targetModules
        self.excludeModules = nil
        self.useRSLoRA = useRSLoRA
        self.initialization = initialization
        self.layersToTransform = layersToTransform
        self.layersPattern = nil
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.baseModelNameOrPath = baseModelNameOrPath
        self.bias = "none"
        self.useDoRA = useDoRA
        self.loraBias = false
        self.modulesToSave = nil
        self.taskType = "CAUSAL_LM"
        self.inferenceMode = false
        self.fanInFanOut = false
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", rank = "r", alpha = "lora_alpha", dropout = "lora_dropout"
        case targetModules = "target_modules", excludeModules = "exclude_modules", useRSLoRA = "use_rslora"
        case initialization = "init_lora_weights", layersToTransform = "layers_to_transform", layersPattern = "layers_pattern"
        case rankPattern = "rank_pattern", alphaPattern = "alpha_pattern"
        case baseModelNameOrPath = "base_model_name_or_path", bias, useDoRA = "use_dora", loraBias = "lora_bias"
        case modulesToSave = "modules_to_save", taskType = "task_type", inferenceMode = "inference_mode"
        case fanInFanOut = "fan_in_fan_out"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .peftType) ?? Self.peftType
        guard type == Self.peftType else { throw AdapterError.unsupported("peft_type '\(type)' in a LoRA configuration") }
        self.init(rank: try c.decodeIfPresent(Int.self, forKey: .rank) ?? 8,
                  alpha: try c.decodeIfPresent(Float.self, forKey: .alpha) ?? 8,
                  dropout: try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0,
                  targetModules: try c.decodeIfPresent(TargetModules.self, forKey: .targetModules) ?? .names(["q_proj", "v_proj"]),
                  useRSLoRA: try c.decodeIfPresent(Bool.self, forKey: .useRSLoRA) ?? false,
                  useDoRA: try c.decodeIfPresent(Bool.self, forKey: .useDoRA) ?? false,
                  initialization: try c.decodeIfPresent(LoRAInitialization.self, forKey: .initialization) ?? .kaimingUniform,
                  layersToTransform: try Self.decodeIntOrList(c, .layersToTransform),
                  rankPattern: try c.decodeIfPresent([String: Int].self, forKey: .rankPattern) ?? [:],
                  alphaPattern: try c.decodeIfPresent([String: Float].self, forKey: .alphaPattern) ?? [:],
                  baseModelNameOrPath: try c.decodeIfPresent(String.self, forKey: .baseModelNameOrPath))
        excludeModules = try c.decodeIfPresent(TargetModules.self, forKey: .excludeModules)
        layersPattern = try Self.decodeStringOrList(c, .layersPattern)
        bias = try c.decodeIfPresent(String.self, forKey: .bias) ?? "none"
        loraBias = try c.decodeIfPresent(Bool.self, forKey: .loraBias) ?? false
        modulesToSave = try c.decodeIfPresent([String].self, forKey: .modulesToSave)
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType) ?? "CAUSAL_LM"
        inferenceMode = try c.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? false
        fanInFanOut = try c.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false
    }

    private static func decodeIntOrList(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Int]? {
        if let one = try? c.decodeIfPresent(Int.self, forKey: key) { return [one] }
        return try c.decodeIfPresent([Int].self, forKey: key)
    }

    private static func decodeStringOrList(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String]? {
        if let one = try? c.decodeIfPresent(String.self, forKey: key) { return [one] }
        return try c.decodeIfPresent([String].self, forKey: key)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.peftType, forKey: .peftType)
        try c.encode(rank, forKey: .rank)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(targetModules, forKey: .targetModules)
        try c.encode(excludeModules, forKey: .excludeModules)
        try c.encode(useRSLoRA, forKey: .useRSLoRA)
        try c.encode(initialization, forKey: .initialization)
        try c.encode(layersToTransform, forKey: .layersToTransform)
        try c.encode(layersPattern, forKey: .layersPattern)
        try c.encode(rankPattern, forKey: .rankPattern)
        try c.encode(alphaPattern, forKey: .alphaPattern)
        try c.encode(baseModelNameOrPath, forKey: .baseModelNameOrPath)
        try c.encode(bias, forKey: .bias)
        try c.encode(useDoRA, forKey: .useDoRA)
        try c.encode(loraBias, forKey: .loraBias)
        try c.encode(modulesToSave, forKey: .modulesToSave)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(inferenceMode, forKey: .inferenceMode)
        try c.encode(fanInFanOut, forKey: .fanInFanOut)
    }

    /// The module selection these settings describe.
    public var selection: TargetSelection {
        TargetSelection(targets: targetModules, excluded: excludeModules, layersToTransform: layersToTransform, layersPattern: layersPattern)
    }

    public var savedModuleNames: [String] { modulesToSave ?? [] }

    public func validate() throws {
        guard rank > 0 else { throw AdapterError.invalidConfiguration("r must be positive, got \(rank)") }
        guard alpha.isFinite else { throw AdapterError.invalidConfiguration("lora_alpha must be finite") }
        guard dropout >= 0 && dropout < 1 else { throw AdapterError.invalidConfiguration("lora_dropout must be in [0, 1), got \(dropout)") }
        guard bias == "none" else { throw AdapterError.unsupported("LoRA bias '\(bias)' (only \"none\"; see lora_bias)") }
        guard rankPattern.values.allSatisfy({ $0 > 0 }) else { throw AdapterError.invalidConfiguration("rank_pattern ranks must be positive") }
        try selection.validate()
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

    // MARK: Installing and saving

    public func install(into model: any CausalLanguageModel, name: String, seed: UInt64) throws -> [String] {
        let paths = selection.paths(in: model) { $0 is any LinearLayer }
        guard !paths.isEmpty else { throw AdapterError.noTargetModules("\(targetModules)") }
        for path in paths {
            if let other = try model.module(at: path) as? any AdapterLayer, !(other is LoRALinear) {
                throw AdapterError.unsupported("LoRA on '\(path)', which already holds \(type(of: other)) adapters (one method per layer)")
            }
        }
        var rng = SeededRandom(seed: seed)
        for path in paths {
            let (rank, scale) = rankAndScale(for: path)
            try wrapper(at: path, in: model, seed: rng.next())
                .addAdapter(name, rank: rank, scale: scale, configuration: self)
        }
        return paths
    }

    public func install(into model: any CausalLanguageModel, name: String, weights: [String: Tensor]) throws -> [String] {
        var groups: [String: [String: Tensor]] = [:]
        for (key, tensor) in weights {
            let path = key.hasPrefix(Self.keyPrefix) ? String(key.dropFirst(Self.keyPrefix.count)) : key
            guard let suffix = Self.savedSuffixes.first(where: { path.hasSuffix("." + $0) }) else {
                throw AdapterError.incompatibleAdapter("unexpected key '\(key)' in a LoRA adapter")
            }
            groups[String(path.dropLast(suffix.count + 1)), default: [:]][suffix] = tensor
        }
        guard !groups.isEmpty else { throw AdapterError.incompatibleAdapter("the adapter file has no LoRA weights") }
        // Check everything before changing the model.
        var plan: [(path: String, weights: LoRALinear.Weights)] = []
        for (path, tensors) in groups.sorted(by: { $0.key < $1.key }) {
            guard let module = try? model.module(at: path), let linear = module as? any LinearLayer else {
                throw AdapterError.incompatibleAdapter("no linear layer at '\(path)'")
            }
            if let other = module as? any AdapterLayer, !(other is LoRALinear) {
                throw AdapterError.unsupported("LoRA on '\(path)', which already holds \(type(of: other)) adapters (one method per layer)")
            }
            guard let a = tensors["lora_A.weight"], let b = tensors["lora_B.weight"] else {
                throw AdapterError.incompatibleAdapter("'\(path)' lacks lora_A or lora_B")
            }
            let weights = LoRALinear.Weights(a: a, b: b, bBias: tensors["lora_B.bias"], magnitude: tensors["lora_magnitude_vector"])
            try weights.check(path: path, inFeatures: linear.inFeatures, outFeatures: linear.outFeatures,
                              expectedRank: rankAndScale(for: path).rank, useDoRA: useDoRA, loraBias: loraBias)
            plan.append((path, weights))
        }
        for (path, weights) in plan {
            let (_, scale) = rankAndScale(for: path)
            try wrapper(at: path, in: model, seed: 0).setAdapter(name, weights: weights, scale: scale, configuration: self)
        }
        return plan.map(\.path)
    }

    public func weights(of name: String, in model: any CausalLanguageModel) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (path, layer) in model.adapterLayers() {
            guard let lora = layer as? LoRALinear, let adapter = lora.adapters[name] else { continue }
            let p = Self.keyPrefix + path + "."
            out[p + "lora_A.weight"] = adapter.a.value
            out[p + "lora_B.weight"] = adapter.b.value
            if let bias = adapter.bBias { out[p + "lora_B.bias"] = bias.value }
            if let m = adapter.magnitude { out[p + "lora_magnitude_vector"] = m.value }
        }
        return out
    }

    /// PEFT's key prefix.
    static let keyPrefix = "base_model.model."
    /// Tensor names after the module path in PEFT's files.
    static let savedSuffixes = ["lora_A.weight", "lora_B.weight", "lora_B.bias", "lora_magnitude_vector"]

    /// The LoRA wrapper at `path`, wrapping the linear layer there first if needed.
    private func wrapper(at path: String, in model: any CausalLanguageModel, seed: UInt64) throws -> LoRALinear {
        let module = try model.module(at: path)
        if let existing = module as? LoRALinear { return existing }
        guard let linear = module as? any LinearLayer else { throw AdapterError.incompatibleAdapter("no linear layer at '\(path)'") }
        if let other = linear as? any AdapterLayer {
            throw AdapterError.unsupported("LoRA on '\(path)', which already holds \(type(of: other)) adapters \(other.adapterNames) (one method per layer)")
        }
        if useDoRA && !(linear is Linear) {
            throw AdapterError.unsupported("DoRA on a \(type(of: linear)) base at '\(path)' (it needs a dense weight)")
        }
        let wrapper = LoRALinear(base: linear, seed: seed)
        try model.replaceModule(at: path, with: wrapper)
        return wrapper
    }
}
