import ArgumentParser
import Foundation
import Tailor

extension FineTuningMethod: ExpressibleByArgument {}

/// `--method` values.
typealias FinetuneMethod = FineTuningMethod

/// Flags of the methods other than LoRA's, and of layer freezing.
struct MethodFlags: ParsableArguments {
    @Option(help: "Fine-tuning method: \(FinetuneMethod.allCases.map(\.rawValue).joined(separator: ", ")) (default lora).")
    var method: FinetuneMethod?
    @Option(help: "Prompt/prefix tuning: number of virtual tokens (default 20).") var virtualTokens: Int?
    @Flag(help: "Prefix tuning: train the prefix through an MLP (PEFT's prefix_projection).") var prefixProjection = false
    @Option(help: "Prompt tuning initialisation: RANDOM, SAMPLE_VOCAB or TEXT (default RANDOM).") var promptInit: String?
    @Option(help: "Prompt tuning: the text whose tokens start the virtual embeddings (implies TEXT).") var promptInitText: String?
    @Option(help: "IA3: comma-separated targets whose input is rescaled (default down_proj, or c_proj/mlp.c_proj on GPT-2).")
    var feedforward: String?
    @Option(help: "Freeze the bottom fraction of the decoder blocks (0–1); the rest of the base trains.") var freezeBottom: Double?
    @Option(help: "Train only the top N decoder blocks of the base fully.") var trainTopBlocks: Int?
}

/// What `tailor finetune` trains: an adapter, base weights, or both.
struct MethodPlan {
    /// The adapter to add, if any.
    var adapter: (any AdapterMethod)?
    /// Which base weights train, if any.
    var freezing: TrainableLayers?
    /// The method's name for messages.
    var name: String

    /// Whether the token embedding stays frozen: an adapter trains, no base layer does, and the
    /// adapter keeps no trained copy of the embedding (`modules_to_save`). Its GGUF blocks can then
    /// stay as stored (``QuantizedStorage/lookupEmbeddings``), which changes no result.
    var freezesEmbedding: Bool {
        guard let adapter, freezing == nil else { return false }
        return !adapter.savedModuleNames.contains { $0.contains("embed") || $0 == "wte" }
    }

    /// Resolves flags and config-file sections into a plan.
    static func resolve(flags: MethodFlags, lora: LoRAFlags, file: FinetuneConfigFile, baseModel: String) throws -> MethodPlan {
        let fileType = file.adapter?["peft_type"] as? String
        let method = flags.method ?? file.method ?? fileType.flatMap(FinetuneMethod.init(peftType:)) ?? .lora
        var freezing = file.freezing
        if flags.freezeBottom != nil || flags.trainTopBlocks != nil {
            var f = freezing ?? TrainableLayers()
            if let v = flags.freezeBottom { f.freezeBottomFraction = v }
            if let v = flags.trainTopBlocks { f.trainTopBlocks = v }
            freezing = f
        }
        func section<T: AdapterMethod>(_ type: T.Type, default value: T) throws -> T {
            if let fileType, fileType.uppercased() != T.peftType {
                throw CLIError("--method \(method.rawValue) does not fit the config's adapter peft_type \(fileType)")
            }
            guard let object = file.adapter else { return value }
            return try FinetuneConfigFile.decode(T.self, from: object, section: "adapter")
        }
        var adapter: (any AdapterMethod)?
        switch method {
        case .lora, .dora:
            var c = try lora.applied(to: file.lora ?? section(LoRAConfiguration.self, default: LoRAConfiguration()))
            if method == .dora { c.useDoRA = true }
            if c.baseModelNameOrPath == nil { c.baseModelNameOrPath = baseModel }
            adapter = c
        case .ia3:
            var c = try section(IA3Configuration.self, default: IA3Configuration())
            if let targets = lora.targets { c.targetModules = try LoRAFlags.modules(targets) }
            if let ff = flags.feedforward { c.feedforwardModules = try LoRAFlags.modules(ff) }
            if let names = try lora.savedModules() { c.modulesToSave = names }
            c.baseModelNameOrPath = c.baseModelNameOrPath ?? baseModel
            adapter = c
        case .prompt:
            var c = try section(PromptTuningConfiguration.self, default: PromptTuningConfiguration())
            if let n = flags.virtualTokens { c.virtualTokenCount = n }
            if let text = flags.promptInitText { c.initializationText = text; c.initialization = .text }
            if let name = flags.promptInit {
                guard let i = PromptTuningInitialization(rawValue: name.uppercased()) else {
                    throw CLIError("--prompt-init must be RANDOM, SAMPLE_VOCAB or TEXT")
                }
                c.initialization = i
            }
            c.baseModelNameOrPath = c.baseModelNameOrPath ?? baseModel
            adapter = c
        case .prefix:
            var c = try section(PrefixTuningConfiguration.self, default: PrefixTuningConfiguration())
            if let n = flags.virtualTokens { c.virtualTokenCount = n }
            if flags.prefixProjection { c.prefixProjection = true }
            c.baseModelNameOrPath = c.baseModelNameOrPath ?? baseModel
            adapter = c
        case .bottleneck:
            let type = try AdapterRegistry.method(peftType: "BOTTLENECK")
            guard let object = file.adapter else {
                throw CLIError("--method bottleneck needs an \"adapter\" section in --config with AdapterHub's settings")
            }
            adapter = try FinetuneConfigFile.decodeMethod(type, from: object)
        case .full:
            freezing = freezing ?? .all
        }
        try adapter?.validate()
        try freezing?.validate()
        return MethodPlan(adapter: adapter, freezing: freezing, name: method.rawValue)
    }
}
