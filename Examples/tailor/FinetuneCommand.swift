import ArgumentParser
import Foundation
import Tailor
import TailorDistributed

/// `tailor finetune`: fine-tune with any method (LoRA, DoRA, IA3, prompt or prefix tuning, full
/// fine-tuning, layer freezing) on a JSONL file; adapters are saved in PEFT format, fully tuned
/// weights as a transformers folder.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune on a JSONL file with LoRA, DoRA, IA3, prompt/prefix tuning or fully; saves the result with its loss curve.",
        discussion: """
            Settings come from --config (a JSON file with "method", "training", "lora"/"adapter", "freezing" and "data" sections) and from flags; flags win.

            Under `mpirun -np N` the run is data-parallel: every rank trains on its share of each step's micro-batches and the gradients are summed over the ranks, so N ranks with --grad-accum k take the steps of one process with --grad-accum N·k. Rank 0 prints, writes checkpoints and saves the result.
            """)

    @Option(help: "JSON config file (see README).") var config: String?
    @Option(name: .shortAndLong, help: "Base model folder or .gguf (default: the cached default model).") var model: String?
    @Flag(help: "Keep GGUF weights in their quantized format (less memory; the adapter trains on top).") var quantized = false
    @Option(help: "Quantize the dense linear layers on load (nf4, fp4, int8) and train the adapter on top (QLoRA).")
    var quantize: WeightQuantization?
    @Option(help: "Training data (JSONL).") var data: String?
    @Option(help: "Held-out data (JSONL) for evaluation and early stopping.") var evalData: String?
    @Option(name: .shortAndLong, help: "Adapter output folder (adapter_config.json, adapter_model.safetensors, loss.svg, history.json).")
    var output: String?
    @Option(help: "Without --eval-data: share of --data held out for evaluation.") var validationFraction: Double?
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var training: TrainingFlags
    @OptionGroup var lora: LoRAFlags
    @OptionGroup var methodFlags: MethodFlags
    @OptionGroup(title: "Objective") var objectiveFlags: ObjectiveFlags
    @Option(help: "Resume from a checkpoint folder written by an earlier run with the same settings.") var resume: String?
    @Flag(help: "Also print a one-line JSON summary.") var json = false
    @Option(help: "Under mpirun: seconds one collective may wait for the other ranks before the job fails (default 600).")
    var collectiveTimeout: Double?

    /// The settings after merging the config file and the flags.
    struct Plan {
        var modelPath: String?
        var trainFile: String
        var evalFile: String?
        var output: URL
        var training: TrainingConfiguration
        var method: MethodPlan
        var data: DataConfig
        var objective: ObjectiveSpec
    }

    func plan() throws -> Plan {
        let file = try config.map(FinetuneConfigFile.init(path:)) ?? FinetuneConfigFile()
        guard let trainFile = data ?? file.trainFile else { throw CLIError("finetune needs --data (or \"trainFile\" in --config)") }
        guard let output = output ?? file.output else { throw CLIError("finetune needs --output (or \"output\" in --config)") }
        var data = dataOptions.applied(to: file.data)
        if let seed = training.seed { data.seed = seed }
        let evalFile = evalData ?? file.evalFile
        if evalFile != nil {
            if validationFraction != nil { throw CLIError("--validation-fraction and --eval-data exclude each other") }
            data.validationFraction = 0
        } else if let validationFraction {
            data.validationFraction = validationFraction
        } else if !file.setsValidationFraction {
            data.validationFraction = 0
        }
        try data.validate()
        let outputURL = URL(fileURLWithPath: output)
        var trainingConfig = try training.applied(to: file.training)
        if trainingConfig.saveEvery != nil && trainingConfig.checkpointDirectory == nil {
            trainingConfig.checkpointDirectory = outputURL.appendingPathComponent("checkpoints").path
        }
        try trainingConfig.validate()
        let method = try MethodPlan.resolve(flags: methodFlags, lora: lora, file: file,
                                            baseModel: model ?? file.model ?? "Qwen/Qwen2.5-Coder-0.5B-Instruct")
        return Plan(modelPath: model ?? file.model, trainFile: trainFile, evalFile: evalFile, output: outputURL,
                    training: trainingConfig, method: method, data: data, objective: try objectiveFlags.applied(to: file.objective))
    }

    func run() throws {
        FreedMemoryRetention.enable()  // training reallocates the same buffers every step
        guard let replicas = try DataParallel.join(timeout: collectiveTimeout) else { return try train(on: nil) }
        do {
            try train(on: replicas)
        } catch {
            DataParallel.fail(error, on: replicas)
        }
        replicas.finalize()
    }

    /// Fine-tunes as one of `replicas` (nil: a single process); only the lead replica prints and saves.
    private func train(on replicas: MPICommunicator?) throws {
        let isLead = (replicas?.rank ?? 0) == 0
        func note(_ message: String) { if isLead { log(message) } }
        let plan = try plan()
        if let resume, !FileManager.default.fileExists(atPath: resume) { throw CLIError("no checkpoint at \(resume)") }
        let modelOptions = try ModelOptions.parse((plan.modelPath.map { ["--model", $0] } ?? []) + (quantized ? ["--quantized"] : []) + (quantize.map { ["--quantize", $0.rawValue] } ?? []))
        let modelURL = try modelOptions.modelURL()
        note("Loading \(modelURL.path)…")
        let (m, tokenizer) = try modelOptions.load(keeping: plan.method.freezesEmbedding ? .lookupEmbeddings : [])

        let train = try LoadedData(path: plan.trainFile, tokenizer: tokenizer, config: plan.data)
        if let warning = train.warning { note("warning: " + warning) }
        var evalExamples = train.prepared.validation
        if let evalFile = plan.evalFile {
            var evalConfig = plan.data
            evalConfig.deduplication = .none
            let held = try LoadedData(path: evalFile, tokenizer: tokenizer, config: evalConfig)
            if let warning = held.warning { note("warning: " + warning) }
            evalExamples = held.prepared.train
        }
        let padID = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
        let trainBatches = try PipelineBatches(train.prepared.train, config: plan.data, padID: padID, shuffle: true)
        let evalBatches = try evalExamples.isEmpty ? nil : PipelineBatches(evalExamples, config: plan.data, padID: padID, shuffle: false)

        var adapter = plan.method.adapter
        if let prompt = adapter as? PromptTuningConfiguration { adapter = prompt.tokenizingInitializationText(with: tokenizer) }
        var placement = "base weights"
        if let adapter {
            let paths = try Adapters.apply(adapter, to: m, seed: plan.training.seed)
            placement = "\(paths.count) modules"
        } else {
            m.setTrainable(false)
        }
        if let freezing = plan.method.freezing { try freezing.apply(to: m) }
        let objective = try plan.objective.build(model: m, tokenizer: tokenizer, data: plan.data, padID: padID,
                                                 seed: plan.training.seed, log: note)
        let trainer = try Trainer(model: m, configuration: plan.training, objective: objective,
                                  communicator: replicas ?? SingleProcess())
        note("\(train.prepared.report.format.rawValue) data, template \(train.prepared.report.template): \(train.prepared.train.count) training and \(evalExamples.count) evaluation examples; "
            + "\(plan.method.name) on \(placement), \(m.parameterCount(trainableOnly: true)) trainable parameters")

        var bar: ProgressBar?
        var lastEval: EvaluationRecord?
        let started = Date()
        let history = try trainer.fit(train: trainBatches, eval: evalBatches, resumingFrom: resume.map { URL(fileURLWithPath: $0) }) { event in
            guard isLead else { return .proceed }
            switch event {
            case .step(let s):
                if bar == nil { bar = ProgressBar(total: s.totalSteps, label: "Fine-tuning", plainEvery: max(1, s.totalSteps / 20)) }
                let terms = s.terms.isEmpty ? "" : " (\(s.termSummary))"
                bar?.update(s.step, detail: String(format: "loss %.4f", s.loss) + terms
                    + String(format: " · lr %.2e · %.0f tok/s", s.learningRate, s.tokensPerSecond))
            case .evaluation(let e):
                lastEval = e
                note(String(format: "step %d: eval loss %.4f, perplexity %.3f, token accuracy %.2f%%", e.step, e.loss, e.perplexity, 100 * e.tokenAccuracy))
            case .checkpoint(let step, let path):
                note("step \(step): checkpoint \(path)")
            }
            return .proceed
        }
        let seconds = Date().timeIntervalSince(started)
        guard isLead else { return }

        var saved: [String] = []
        if adapter != nil {
            try Adapters.save(of: m, to: plan.output)
            saved.append("adapter (PEFT format): \(plan.output.path)")
        }
        if plan.method.freezing != nil {
            let folder = adapter == nil ? plan.output : plan.output.appendingPathComponent("model")
            try ModelExport.save(m, to: folder)
            try TokenizerExport.copy(from: modelURL, to: folder)
            saved.append("fine-tuned weights (transformers folder): \(folder.path)")
        }
        let curve = plan.output.appendingPathComponent("loss.svg")
        try LossCurve.svg(history, title: "\(plan.method.name) fine-tuning: \(URL(fileURLWithPath: plan.trainFile).lastPathComponent)")
            .write(to: curve, atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(history).write(to: plan.output.appendingPathComponent("history.json"), options: .atomic)

        let first = history.steps.first?.loss ?? .nan, last = history.steps.last?.loss ?? .nan
        var lines = [String(format: "trained %d steps in %@ (%@); loss %.4f → %.4f", history.steps.count, ProgressBar.clock(seconds),
                            history.stopReason, first, last)]
        if let e = lastEval ?? history.evaluations.last {
            lines.append(String(format: "eval: loss %.4f, perplexity %.3f, token accuracy %.2f%%", e.loss, e.perplexity, 100 * e.tokenAccuracy))
        }
        lines += saved
        lines.append("loss curve: \(curve.path)")
        if let replicas { lines.append(DataParallel.summary(of: replicas)) }
        print(lines.joined(separator: "\n"))
        if json {
            var summary: [String: Any] = [
                "steps": history.steps.count, "stop_reason": history.stopReason, "seconds": seconds,
                "first_loss": Double(first), "last_loss": Double(last), "output": plan.output.path, "loss_curve": curve.path,
                "method": plan.method.name,
                "train_examples": train.prepared.train.count, "eval_examples": evalExamples.count,
                "trainable_parameters": m.parameterCount(trainableOnly: true),
            ]
            if let e = history.evaluations.last {
                summary["eval_loss"] = Double(e.loss)
                summary["eval_perplexity"] = Double(e.perplexity)
                summary["eval_token_accuracy"] = Double(e.tokenAccuracy)
            }
            print(try jsonLine(summary))
        }
    }
}

/// Training flags; each overrides the matching `TrainingConfiguration` field.
struct TrainingFlags: ParsableArguments {
    @Option(help: "Passes over the training data (default 1).") var epochs: Int?
    @Option(help: "Stop after this many optimizer steps (overrides --epochs).") var maxSteps: Int?
    @Option(help: "Micro-batches per optimizer step (default 1).") var gradAccum: Int?
    @Option(name: [.customLong("lr"), .customLong("learning-rate")], help: "Peak learning rate (default 2e-4).") var learningRate: Float?
    @Option(help: "Linear warm-up steps (default 0).") var warmupSteps: Int?
    @Option(help: "Decay after warm-up: cosine, linear or constant (default cosine).") var schedule: LearningRateDecay?
    @Option(help: "Final learning rate as a fraction of the peak (default 0).") var minLrRatio: Float?
    @Option(help: "Optimizer: adamw, adamw8bit (8-bit moments, 2 bytes of state per weight) or sgd (default adamw).") var optimizer: OptimizerChoice?
    @Option(help: "Weight decay (AdamW default 0.01, SGD 0).") var weightDecay: Float?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(help: "Clip the gradient norm to this; 0 turns clipping off (default 1).") var maxGradNorm: Float?
    @Option(help: "Evaluate every N steps (default: once at the end).") var evalEvery: Int?
    @Option(help: "Save a checkpoint every N steps.") var saveEvery: Int?
    @Option(help: "Checkpoint folder (default: <output>/checkpoints).") var checkpointDir: String?
    @Option(help: "Stop after this many evaluations without improvement.") var earlyStoppingPatience: Int?
    @Option(help: "Smallest eval-loss decrease that counts as improvement (default 0).") var earlyStoppingMinDelta: Float?
    @Option(help: "Seed for adapter initialisation, data split and order (default 42).") var seed: UInt64?
    @Flag(help: "Recompute each decoder block in the backward pass: less memory, ~1 more forward of compute.")
    var gradientCheckpointing = false

    func applied(to base: TrainingConfiguration) throws -> TrainingConfiguration {
        var c = base
        if let epochs { c.epochs = epochs }
        if let maxSteps { c.maxSteps = maxSteps }
        if let gradAccum { c.gradientAccumulationSteps = gradAccum }
        if let learningRate { c.learningRate = learningRate }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let schedule { c.decay = schedule }
        if let minLrRatio { c.minimumLearningRateRatio = minLrRatio }
        if let optimizer { c.optimizer = optimizer.kind }
        if let weightDecay {
            switch c.optimizer {
            case let .adamW(b1, b2, eps, _): c.optimizer = .adamW(beta1: b1, beta2: b2, epsilon: eps, weightDecay: weightDecay)
            case let .adamW8bit(b1, b2, eps, _): c.optimizer = .adamW8bit(beta1: b1, beta2: b2, epsilon: eps, weightDecay: weightDecay)
            case let .sgd(m, _): c.optimizer = .sgd(momentum: m, weightDecay: weightDecay)
            }
        }
        if let momentum {
            guard case let .sgd(_, wd) = c.optimizer else { throw CLIError("--momentum applies to the sgd optimizer only") }
            c.optimizer = .sgd(momentum: momentum, weightDecay: wd)
        }
        if let maxGradNorm { c.maxGradientNorm = maxGradNorm == 0 ? nil : maxGradNorm }
        if let evalEvery { c.evaluateEvery = evalEvery }
        if let saveEvery { c.saveEvery = saveEvery }
        if let checkpointDir { c.checkpointDirectory = checkpointDir }
        if let earlyStoppingPatience { c.earlyStoppingPatience = earlyStoppingPatience }
        if let earlyStoppingMinDelta { c.earlyStoppingMinDelta = earlyStoppingMinDelta }
        if let seed { c.seed = seed }
        if gradientCheckpointing { c.gradientCheckpointing = true }
        return c
    }
}

/// `--optimizer` values.
enum OptimizerChoice: String, ExpressibleByArgument, CaseIterable {
    case adamw, adamw8bit, sgd

    /// The optimizer with its default settings.
    var kind: OptimizerKind {
        switch self {
        case .adamw: return .adamW()
        case .adamw8bit: return .adamW8bit()
        case .sgd: return .sgd()
        }
    }
}

extension LearningRateDecay: ExpressibleByArgument {}

/// LoRA flags; each overrides the matching `LoRAConfiguration` field.
struct LoRAFlags: ParsableArguments {
    @Option(help: "LoRA rank r (default 8).") var rank: Int?
    @Option(help: "LoRA alpha; the update is scaled by alpha/r (default 16).") var alpha: Float?
    @Option(help: "Dropout on the adapter input while training (default 0).") var dropout: Float?
    @Option(help: "Layers to adapt: comma-separated module names (default q_proj,v_proj) or all-linear.") var targets: String?
    @Option(help: "LoRA and IA3: base modules trained and saved in full, comma-separated (PEFT's modules_to_save, e.g. lm_head).")
    var modulesToSave: String?

    func applied(to base: LoRAConfiguration) throws -> LoRAConfiguration {
        var c = base
        if let rank { c.rank = rank }
        if let alpha { c.alpha = alpha }
        if let dropout { c.dropout = dropout }
        if let targets { c.targetModules = try Self.modules(targets) }
        if let names = try savedModules() { c.modulesToSave = names }
        return c
    }

    /// `--modules-to-save` as a list of names, if given.
    func savedModules() throws -> [String]? {
        guard let modulesToSave else { return nil }
        let names = modulesToSave.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw CLIError("--modules-to-save needs at least one module name") }
        return names
    }

    /// Comma-separated module names, or all-linear.
    static func modules(_ list: String) throws -> TargetModules {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw CLIError("a module list needs at least one module name") }
        return names == ["all-linear"] ? .allLinear : .names(names)
    }
}
