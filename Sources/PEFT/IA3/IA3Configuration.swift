import Foundation
import Model
import Tensor

/// An IA3 adapter's settings — PEFT's `IA3Config`, stored as its `adapter_config.json`: learned
/// vectors that rescale the outputs of the targeted linear layers, or the inputs of those listed
/// in `feedforward_modules`.
public struct IA3Configuration: AdapterMethod, Equatable {
    public static let peftType = "IA3"

    /// Layers to rescale.
    public var targetModules: TargetModules
    /// Layers never to rescale.
    public var excludeModules: TargetModules?
    /// Targets whose input (rather than output) is rescaled; must be among the targets.
    public var feedforwardModules: TargetModules?
    /// Start the vectors at 1, so the adapter begins as a no-op (`init_ia3_weights`).
    public var initializeToOne: Bool
    /// Only blocks with these indices (nil: all).
    public var layersToTransform: [Int]?
    /// Name of the block list `layersToTransform` counts in.
    public var layersPattern: [String]?
    /// Whether the base stores weights [In, Out] (GPT-2 Conv1D), PEFT's `fan_in_fan_out`.
    public var fanInFanOut: Bool
    /// Base modules trained and saved in full (`modules_to_save`): names matched against the end of module paths.
    public var modulesToSave: [String]?
    /// Base model the adapter was trained on.
    public var baseModelNameOrPath: String?
    /// PEFT's `task_type`.
    public var taskType: String
    /// PEFT's `inference_mode`.
    public var inferenceMode: Bool

    /// A configuration; by default PEFT's Llama targets (k, v and the down projection as feed-forward).
    public init(targetModules: TargetModules = .names(["k_proj", "v_proj", "down_proj"]),
                feedforwardModules: TargetModules? = .names(["down_proj"]), initializeToOne: Bool = true) {
        self.targetModules = targetModules
        self.excludeModules = nil
        self.feedforwardModules = feedforwardModules
        self.initializeToOne = initializeToOne
        self.layersToTransform = nil
        self.layersPattern = nil
        self.fanInFanOut = false
        self.modulesToSave = nil
        self.baseModelNameOrPath = nil
        self.taskType = "CAUSAL_LM"
        self.inferenceMode = false
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", targetModules = "target_modules", excludeModules = "exclude_modules"
        case feedforwardModules = "feedforward_modules", initializeToOne = "init_ia3_weights"
        case layersToTransform = "layers_to_transform", layersPattern = "layers_pattern", fanInFanOut = "fan_in_fan_out"
        case modulesToSave = "modules_to_save", baseModelNameOrPath = "base_model_name_or_path", taskType = "task_type"
        case inferenceMode = "inference_mode"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .peftType) ?? Self.peftType
        guard type == Self.peftType else { throw AdapterError.unsupported("peft_type '\(type)' in an IA3 configuration") }
        self.init(targetModules: try c.decodeIfPresent(TargetModules.self, forKey: .targetModules) ?? .names(["k_proj", "v_proj", "down_proj"]),
                  feedforwardModules: try c.decodeIfPresent(TargetModules.self, forKey: .feedforwardModules),
                  initializeToOne: try c.decodeIfPresent(Bool.self, forKey: .initializeToOne) ?? true)
        excludeModules = try c.decodeIfPresent(TargetModules.self, forKey: .excludeModules)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .layersToTransform) { layersToTransform = [one] } else {
            layersToTransform = try c.decodeIfPresent([Int].self, forKey: .layersToTransform)
        }
        if let one = try? c.decodeIfPresent(String.self, forKey: .layersPattern) { layersPattern = [one] } else {
            layersPattern = try c.decodeIfPresent([String].self, forKey: .layersPattern)
        }
        fanInFanOut = try c.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false
        modulesToSave = try c.decodeIfPresent([String].self, forKey: .modulesToSave)
        baseModelNameOrPath = try c.decodeIfPresent(String.self, forKey: .baseModelNameOrPath)
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType) ?? "CAUSAL_LM"
        inferenceMode = try c.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.peftType, forKey: .peftType)
        try c.encode(targetModules, forKey: .targetModules)
        try c.encode(excludeModules, forKey: .excludeModules)
        try c.encode(feedforwardModules, forKey: .feedforwardModules)
        try c.encode(initializeToOne, forKey: .initializeToOne)
        try c.encode(layersToTransform, forKey: .layersToTransform)
        try c.encode(layersPattern, forKey: .layersPattern)
        try c.encode(fanInFanOut, forKey: .fanInFanOut)
        try c.encode(modulesToSave, forKey: .modulesToSave)
        try c.encode(baseModelNameOrPath, forKey: .baseModelNameOrPath)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(inferenceMode, forKey: .inferenceMode)
    }

    /// The module selection these settings describe.
    public var selection: TargetSelection {
        TargetSelection(targets: targetModules, excluded: excludeModules, layersToTransform: layersToTransform, layersPattern: layersPattern)
    }

    public var savedModuleNames: [String] { modulesToSave ?? [] }

    public func validate() throws {
        try selection.validate()
        try feedforwardModules?.validate()
        if case .names(let ff)? = feedforwardModules, case .names(let targets) = targetModules {
            let stray = ff.filter { !targets.contains($0) }
            guard stray.isEmpty else {
                throw AdapterError.invalidConfiguration("feedforward_modules \(stray) must also be in target_modules")
            }
        }
    }

    /// Whether the target at `path` rescales its input.
    func isFeedforward(_ path: String) -> Bool { feedforwardModules?.matches(path) ?? false }

    public func install(into model: any CausalLanguageModel, name: String, seed: UInt64) throws -> [String] {
        let paths = selection.paths(in: model) { $0 is any LinearLayer }
        guard !paths.isEmpty else { throw AdapterError.noTargetModules("\(targetModules)") }
        for path in paths {
            if let other = try model.module(at: path) as? any AdapterLayer, !(other is IA3Linear) {
                throw AdapterError.unsupported("IA3 on '\(path)', which already holds \(type(of: other)) adapters (one method per layer)")
            }
        }
        var rng = SeededRandom(seed: seed)
        for path in paths {
            let layer = try wrapper(at: path, in: model)
            let n = isFeedforward(path) ? layer.inFeatures : layer.outFeatures
            let v = initializeToOne ? Tensor.ones([n]) : Tensor.normal([n], std: 1, using: &rng)
            try layer.setAdapter(name, scaling: v, feedforward: isFeedforward(path), configuration: self)
        }
        return paths
    }

    public func install(into model: any CausalLanguageModel, name: String, weights: [String: Tensor]) throws -> [String] {
        var plan: [(path: String, vector: Tensor)] = []
        for (key, tensor) in weights.sorted(by: { $0.key < $1.key }) {
            var path = key.hasPrefix(LoRAConfiguration.keyPrefix) ? String(key.dropFirst(LoRAConfiguration.keyPrefix.count)) : key
            guard path.hasSuffix(".ia3_l") else { throw AdapterError.incompatibleAdapter("unexpected key '\(key)' in an IA3 adapter") }
            path.removeLast(".ia3_l".count)
            guard let module = try? model.module(at: path), let linear = module as? any LinearLayer else {
                throw AdapterError.incompatibleAdapter("no linear layer at '\(path)' (tensor '\(key)')")
            }
            if let other = module as? any AdapterLayer, !(other is IA3Linear) {
                throw AdapterError.unsupported("IA3 on '\(path)', which already holds \(type(of: other)) adapters (one method per layer)")
            }
            let ff = isFeedforward(path)
            let expected = ff ? [1, linear.inFeatures] : [linear.outFeatures, 1]
            guard tensor.shape == expected else {
                throw AdapterError.incompatibleAdapter("'\(key)' has shape \(tensor.shape), expected \(expected)")
            }
            plan.append((path, tensor.reshaped([tensor.count])))
        }
        guard !plan.isEmpty else { throw AdapterError.incompatibleAdapter("the adapter file has no IA3 weights") }
        for (path, v) in plan { try wrapper(at: path, in: model).setAdapter(name, scaling: v, feedforward: isFeedforward(path), configuration: self) }
        return plan.map(\.path)
    }

    public func weights(of name: String, in model: any CausalLanguageModel) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (path, layer) in model.adapterLayers() {
            guard let ia3 = layer as? IA3Linear, let ad = ia3.adapters[name] else { continue }
            let v = ad.scaling.value
            out[LoRAConfiguration.keyPrefix + path + ".ia3_l"] = ad.feedforward ? v.reshaped([1, v.count]) : v.reshaped([v.count, 1])
        }
        return out
    }

    private func wrapper(at path: String, in model: any CausalLanguageModel) throws -> IA3Linear {
        let module = try model.module(at: path)
        if let existing = module as? IA3Linear { return existing }
        guard let linear = module as? any LinearLayer else { throw AdapterError.incompatibleAdapter("no linear layer at '\(path)'") }
        if let other = linear as? any AdapterLayer {
            throw AdapterError.unsupported("IA3 on '\(path)', which already holds \(type(of: other)) adapters \(other.adapterNames) (one method per layer)")
        }
        let wrapper = IA3Linear(base: linear)
        try model.replaceModule(at: path, with: wrapper)
        return wrapper
    }
}
