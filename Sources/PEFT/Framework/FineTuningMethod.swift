import Model

/// The fine-tuning methods by their short names (`tailor finetune --method`), with a default
/// configuration each.
public enum FineTuningMethod: String, CaseIterable, Sendable {
    case lora, dora, ia3, prefix, prompt, bottleneck, full

    /// The method a PEFT `peft_type` names.
    public init?(peftType: String) {
        guard let m = Self.allCases.first(where: { $0.peftType == peftType.uppercased() }) else { return nil }
        self = m
    }

    /// The `peft_type` (registry key) of the method's adapters; nil for full fine-tuning.
    public var peftType: String? {
        switch self {
        case .lora, .dora: return LoRAConfiguration.peftType
        case .ia3: return IA3Configuration.peftType
        case .prefix: return PrefixTuningConfiguration.peftType
        case .prompt: return PromptTuningConfiguration.peftType
        case .bottleneck: return "BOTTLENECK"
        case .full: return nil
        }
    }

    /// A default adapter for `model`: LoRA/DoRA of rank r (α = 2r) on `targets`, IA3 on the
    /// attention key/value and feed-forward output projections, 20 virtual tokens for prompt and
    /// prefix tuning; nil for full fine-tuning. Bottleneck adapters come from their registered
    /// method's own defaults.
    public func defaultAdapter(for model: any CausalLanguageModel, rank: Int = 8, targets: TargetModules? = nil) throws -> (any AdapterMethod)? {
        let gpt2 = model.blockPath == "transformer.h"
        switch self {
        case .lora, .dora:
            let t = targets ?? .names(gpt2 ? ["c_attn"] : ["q_proj", "k_proj", "v_proj", "o_proj"])
            return LoRAConfiguration(rank: rank, alpha: Float(2 * rank), targetModules: t, useDoRA: self == .dora)
        case .ia3:
            return gpt2 ? IA3Configuration(targetModules: targets ?? .names(["c_attn", "mlp.c_proj"]), feedforwardModules: .names(["mlp.c_proj"]))
                : IA3Configuration(targetModules: targets ?? .names(["k_proj", "v_proj", "down_proj"]), feedforwardModules: .names(["down_proj"]))
        case .prefix: return PrefixTuningConfiguration(virtualTokenCount: 20)
        case .prompt: return PromptTuningConfiguration(virtualTokenCount: 20)
        case .bottleneck: return try AdapterRegistry.method(peftType: "BOTTLENECK").defaultConfiguration()
        case .full: return nil
        }
    }
}
