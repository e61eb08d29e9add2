import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench train`: LoRA fine-tuning throughput and peak memory.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "LoRA training tokens/s and peak RSS.")

    @Option(help: "default (Qwen GGUF), gpt2-124m, llama-135m, or a model path.") var model = "default"
    @Option(help: "Sequence length.") var seq = 256
    @Option(help: "Micro-batch size.") var batch = 1
    @Option(help: "Timed optimizer steps (after one warm-up step).") var steps = 3
    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "Method: lora, dora, ia3, prefix, prompt, bottleneck or full.") var method: FineTuningMethod = .lora
    @Flag(help: "Keep GGUF weights quantized (frozen base in its file format).") var quantized = false
    @Option(help: "Quantize the linear layers on load: nf4, fp4 or int8 (a QLoRA base in bitsandbytes' format).")
    var quantize: WeightQuantization?
    @Option(help: "Positions with a target per row (default: all but the last), like a masked prompt.") var targetsPerRow: Int?
    @Option(help: "Comma-separated target modules (or all-linear) (default: q,k,v,o for Llama, c_attn for GPT-2).") var targets: String?
    @Flag(help: "Recompute each decoder block in the backward pass (gradient checkpointing).") var checkpointing = false
    @Option(help: "Optimizer: adamw or adamw8bit (8-bit moments).") var optimizer: BenchOptimizer = .adamw
    @Flag(help: "Expand a frozen, lookup-only GGUF token embedding to Float32 too (by default an adapter run keeps its blocks, as `tailor finetune` does).")
    var float32Embeddings = false

    func validate() throws {
        if quantize != nil && quantized { throw ValidationError("--quantize and --quantized exclude each other") }
        if quantize != nil && method == .full { throw ValidationError("--quantize needs an adapter method: quantized layers are frozen") }
    }

    func run() throws {
        FreedMemoryRetention.enable()  // training reallocates the same buffers every step
        let keepsEmbedding = method != .full && !float32Embeddings
        let loaded = try BenchModels.load(model, keepQuantized: quantized, keeping: keepsEmbedding ? .lookupEmbeddings : [],
                                     quantize: quantize)
        let gpt2 = loaded.model is GPT2Model
        let names = targets.map { $0.split(separator: ",").map(String.init) }
            ?? (gpt2 ? ["c_attn"] : ["q_proj", "k_proj", "v_proj", "o_proj"])
        let selection: TargetModules? = targets == nil ? nil : (names == ["all-linear"] ? .allLinear : .names(names))
        if let adapter = try method.defaultAdapter(for: loaded.model, rank: rank, targets: selection) {
            try Adapters.apply(adapter, to: loaded.model)
        } else {
            try TrainableLayers.all.apply(to: loaded.model)
        }
        let vocab = loaded.model.description.vocabularySize
        let batches = (0...steps).map { i -> TrainingBatch in
            let ids = BenchModels.randomTokens(batch * seq, vocabulary: vocab, seed: UInt64(i))
            // Labels aligned with the tokens (the loss predicts label t + 1 from position t).
            var labels = ids
            for r in 0..<batch {
                labels[r * seq] = TokenizedExample.ignoreIndex
                if let keep = targetsPerRow { for t in 0..<max(0, seq - keep) { labels[r * seq + t] = TokenizedExample.ignoreIndex } }
            }
            return TrainingBatch(inputIDs: ids, labels: labels, batchSize: batch)
        }
        let trainer = try Trainer(model: loaded.model, configuration: TrainingConfiguration(maxSteps: steps + 1, learningRate: 1e-4,
                                                                                           optimizer: optimizer == .adamw ? .adamW() : .adamW8bit(),
                                                                                           gradientCheckpointing: checkpointing))
        var stepTimes: [Double] = []
        _ = try trainer.fit(train: FixedBatches(batches)) { event in
            if case .step(let s) = event { stepTimes.append(Double(batch * seq) / s.tokensPerSecond) }
            return .proceed
        }
        let timed = stepTimes.dropFirst()
        let seconds = timed.reduce(0, +)
        emit([("bench", .string("train")), ("impl", .string("tailor")), ("model", .string(loaded.name)),
              ("method", .string(method.rawValue + (quantized ? "-quantized-base" : quantize.map { "-\($0.rawValue)-base" } ?? ""))), ("rank", .int(rank)),
              ("targets", .string(names.joined(separator: ","))), ("targets_per_row", targetsPerRow.map { .int($0) } ?? .number(.nan, decimals: 0)), ("seq", .int(seq)), ("batch", .int(batch)), ("checkpointing", .bool(checkpointing)), ("optimizer", .string(optimizer.rawValue)),
              ("stored_embedding", .bool(loaded.model.namedModules().contains { $0.module is QuantizedEmbedding })),
              ("steps", .int(timed.count)), ("tokens_per_s", .number(Double(timed.count * batch * seq) / seconds, decimals: 1)),
              ("step_s", .number(seconds / Double(timed.count), decimals: 3)),
              ("trainable_params", .int(loaded.model.parameterCount(trainableOnly: true))),
              ("peak_rss_mb", .number(peakRSSMegabytes() ?? .nan, decimals: 0))])
    }
}
extension FineTuningMethod: ExpressibleByArgument {}
extension WeightQuantization: ExpressibleByArgument {}

/// `tailor-bench train --optimizer` values.
enum BenchOptimizer: String, ExpressibleByArgument {
    case adamw, adamw8bit
}
