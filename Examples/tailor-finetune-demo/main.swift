import ArgumentParser
import Foundation
import Tailor

/// The fine-tuning demo: measure the default model on a held-out task and its perplexity on general
/// text, teach it with a fine-tuning method (LoRA by default) and objective (cross-entropy, EWC or
/// KL to the base) for a few minutes, measure both again, and save the result (an adapter in PEFT
/// format, or fully tuned weights) and the loss curve (SVG). The general-text perplexity before and
/// after shows what the task cost (forgetting); one run per objective gives the forgetting table.
struct FinetuneDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor-finetune-demo",
        abstract: "Fine-tune the default model on the inventory-code task and show before/after scores.")

    @Option(help: "The model (.gguf or Hugging Face folder).") var model: String
    @Option(help: "Folder with train.jsonl and test.jsonl.") var data = "Examples/Data/sku"
    @Option(help: "Where the adapter, loss curve and report go.") var output = "demo-output"
    @Option(help: "Passes over the training set.") var epochs = 1
    @Option(help: "Micro-batch size.") var batchSize = 8
    @Option(help: "Peak learning rate.") var learningRate: Float = 1e-3
    @Option(help: "LoRA rank.") var rank = 16
    @Option(help: "Method: lora, dora, ia3, prefix, prompt, bottleneck or full (full trains the top 4 blocks).")
    var method: FineTuningMethod = .lora
    @Option(help: "Evaluate on at most this many held-out examples.") var evalLimit = 100
    @Flag(help: "Keep the base weights in their GGUF quantization (about 1.5 GB less memory).") var quantized = false
    @Flag(help: "Recompute each block's activations in the backward pass instead of keeping them (less memory, more compute).")
    var checkpointing = false
    @Option(help: "Seed for initialisation and data order.") var seed: UInt64 = 7
    @Option(help: "Objective: ce (task cross-entropy), ewc (+ EWC with the Fisher of the general text) or kl-base (+ KL to the frozen base, adapter switched off).")
    var objective: DemoObjective = .ce
    @Option(help: "EWC strength λ (with --objective ewc).") var ewcLambda: Float = 1000
    @Option(help: "General-text windows for the Fisher estimate (with --objective ewc).") var ewcBatches = 8
    @Option(help: "Weight of the KL term (with --objective kl-base; cross-entropy has weight 1).") var klWeight: Float = 1
    @Option(help: "Plain-text file whose perplexity measures forgetting (and EWC's reference data).")
    var generalText = "Examples/Data/general/general.txt"
    @Option(help: "Window length in tokens for the general text (capped at the model's context).") var generalWindow = 512

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard rank > 0 else { throw ValidationError("--rank must be positive") }
        guard evalLimit >= 0 else { throw ValidationError("--eval-limit must be 0 or more") }
        guard learningRate.isFinite, learningRate > 0 else { throw ValidationError("--learning-rate must be a positive number") }
        guard ewcLambda.isFinite, ewcLambda >= 0 else { throw ValidationError("--ewc-lambda must be a non-negative number") }
        guard ewcBatches > 0 else { throw ValidationError("--ewc-batches must be positive") }
        guard klWeight.isFinite, klWeight >= 0 else { throw ValidationError("--kl-weight must be a non-negative number") }
        guard generalWindow >= 2 else { throw ValidationError("--general-window must be at least 2") }
        if objective == .klBase, method == .full {
            throw ValidationError("--objective kl-base needs an adapter method: the base is the model with its adapter switched off")
        }
    }

    func run() throws {
        FreedMemoryRetention.enable()  // training reallocates the same buffers every step
        let started = Date()
        let dataURL = URL(fileURLWithPath: data), outURL = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        log("Loading \(model)…")
        // The demo never trains the token embedding (an adapter, or the top blocks for full), so its
        // GGUF blocks stay as stored: lookups decode the same values in a fifth of the memory.
        let (m, tokenizer) = try LanguageModel.load(from: URL(fileURLWithPath: model), keeping: quantized ? .all : .lookupEmbeddings)
        let template = ChatTemplate.detect(tokenizer: tokenizer) ?? .qwen2_5
        let dataset = try DemoData(folder: dataURL, tokenizer: tokenizer, template: template, batchSize: batchSize,
                                evalLimit: evalLimit, seed: seed)
        log("\(m.description.modelType): \(m.description.layerCount) layers, vocabulary \(m.description.vocabularySize); \(dataset.train.batcher.examples.count) training and \(dataset.testPrompts.count) held-out examples")

        let general = try GeneralText(path: generalText, window: generalWindow, model: m)
        let generator = Generator(model: m, tokenizer: tokenizer)
        let before = try evaluate(dataset, generator: generator, batchSize: 16, label: "Base model   ")
        printSamples("Before fine-tuning", before)
        let generalBefore = try general.score(m, tokenizer: tokenizer, label: "General text ")
        log(String(format: "General text: perplexity %.4f over %d tokens", generalBefore.perplexity, generalBefore.targetTokens))

        let adapter = try method.defaultAdapter(for: m, rank: rank, targets: .allLinear)
        if let adapter { try Adapters.apply(adapter, to: m, seed: seed) } else { try TrainableLayers(trainTopBlocks: 4).apply(to: m) }
        let batches = dataset.train
        let steps = epochs * batches.batcher.batches(epoch: 0).count
        let config = TrainingConfiguration(epochs: epochs, learningRate: learningRate, warmupSteps: max(1, steps / 10),
                                           decay: .cosine, optimizer: .adamW(weightDecay: 0), maxGradientNorm: 1, seed: seed,
                                           gradientCheckpointing: checkpointing)
        let loss = try objective.build(model: m, tokenizer: tokenizer, general: general, ewcLambda: ewcLambda,
                                       ewcBatches: ewcBatches, klWeight: klWeight)
        let trainer = try Trainer(model: m, configuration: config, objective: loss)
        log("objective \(objective.rawValue); \(method.rawValue)\(method == .lora || method == .dora ? " r=\(rank) on all linear layers" : ""): \(m.parameterCount(trainableOnly: true)) trainable parameters; \(steps) steps over \(batches.tokenCount * epochs) tokens")
        let bar = ProgressBar(total: steps, label: "Fine-tuning  ", plainEvery: 5)
        let trainStart = Date()
        let history = try trainer.fit(train: batches) { event in
            if case .step(let s) = event {
                let terms = s.terms.isEmpty ? "" : " (\(s.termSummary))"
                bar.update(s.step, detail: String(format: "loss %.3f", s.loss) + terms
                    + String(format: " · %.0f tok/s · lr %.1e", s.tokensPerSecond, s.learningRate))
            }
            return .proceed
        }
        let trainSeconds = Date().timeIntervalSince(trainStart)
        let tokensPerSecond = Double(batches.tokenCount * epochs) / trainSeconds

        let after = try evaluate(dataset, generator: generator, batchSize: 16, label: "Fine-tuned   ")
        printSamples("After fine-tuning", after)
        let generalAfter = try general.score(m, tokenizer: tokenizer, label: "General text ")
        let forgetting = 100 * (generalAfter.perplexity / generalBefore.perplexity - 1)

        let adapterURL = outURL.appendingPathComponent(adapter == nil ? "model" : "adapter")
        if adapter != nil { try Adapters.save(of: m, to: adapterURL) } else { try ModelExport.save(m, to: adapterURL) }
        let curveURL = outURL.appendingPathComponent("loss.svg")
        try LossCurve.svg(history, title: "\(method.rawValue) fine-tuning on the inventory-code task").write(to: curveURL, atomically: true, encoding: .utf8)

        print("""

                            exact match   ROUGE-L   general ppl
            base model        \(pct(before.exactMatch))      \(pct(before.rougeL))    \(String(format: "%8.3f", generalBefore.perplexity))
            fine-tuned        \(pct(after.exactMatch))      \(pct(after.rougeL))    \(String(format: "%8.3f (%+.1f%%)", generalAfter.perplexity, forgetting))
            objective \(objective.rawValue)\(objectiveDetail); general text: \(general.path), \(generalAfter.targetTokens) tokens in windows of \(general.window)

            trained \(steps) steps in \(ProgressBar.clock(trainSeconds)) (\(String(format: "%.1f", tokensPerSecond)) tok/s); loss \(String(format: "%.3f", history.steps.first?.loss ?? 0)) → \(String(format: "%.3f", history.steps.last?.loss ?? 0))
            \(adapter == nil ? "fine-tuned weights" : "adapter (PEFT format)"): \(adapterURL.path)
            loss curve: \(curveURL.path)
            """)
        let summary: [String: Any] = [
            "before": ["exact_match": round4(before.exactMatch), "rouge_l": round4(before.rougeL),
                       "general_perplexity": round4(generalBefore.perplexity), "general_loss": round4(generalBefore.loss)],
            "after": ["exact_match": round4(after.exactMatch), "rouge_l": round4(after.rougeL),
                      "general_perplexity": round4(generalAfter.perplexity), "general_loss": round4(generalAfter.loss)],
            "objective": objective.rawValue, "ewc_lambda": Double(ewcLambda), "kl_weight": Double(klWeight),
            "general_tokens": generalAfter.targetTokens, "general_perplexity_change_percent": round4(forgetting),
            "train_seconds": round4(trainSeconds), "train_tokens_per_s": round4(tokensPerSecond), "steps": steps,
            "eval_examples": dataset.testPrompts.count, "total_seconds": round4(Date().timeIntervalSince(started)),
            "peak_rss_mb": round4(peakRSSMegabytes()), "output": adapterURL.path, "method": method.rawValue,
            "trainable_params": m.parameterCount(trainableOnly: true),
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// The objective's strength, for the summary line.
    private var objectiveDetail: String {
        switch objective {
        case .ce: return ""
        case .ewc: return " (λ \(ewcLambda), Fisher on \(ewcBatches) windows)"
        case .klBase: return " (KL weight \(klWeight))"
        }
    }

    private func printSamples(_ title: String, _ s: DemoScores) {
        var lines = ["\(title): exact match \(pct(s.exactMatch)), ROUGE-L \(pct(s.rougeL)) (\(ProgressBar.clock(s.seconds)))"]
        for sample in s.samples {
            lines.append("  \(sample.input)\n    expected \(sample.expected)\n    got      \(sample.predicted.replacingOccurrences(of: "\n", with: " ⏎ "))")
        }
        print(lines.joined(separator: "\n"))
    }
}

func log(_ message: String) { FileHandle.standardError.write(Data((message + "\n").utf8)) }
func pct(_ x: Double) -> String { String(format: "%5.1f%%", 100 * x) }
func round4(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }

/// Peak resident set size in MB (VmHWM).
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = line.split(whereSeparator: \.isWhitespace).compactMap({ Double($0) }).first else { return 0 }
    return kb / 1024
}

extension FineTuningMethod: ExpressibleByArgument {}

FinetuneDemo.main()
