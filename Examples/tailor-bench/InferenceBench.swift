import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench load`: time to load the default model, and peak RSS.
struct LoadBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Model load time and peak RSS.")
    @Option(help: "default, gpt2-124m, llama-135m, or a model path.") var model = "default"
    @Flag(help: "Keep GGUF weights quantized.") var quantized = false

    func run() throws {
        let t0 = now()
        let loaded = try BenchModels.load(model, keepQuantized: quantized)
        let seconds = now() - t0
        emit([("bench", .string("load")), ("impl", .string("tailor")), ("model", .string(loaded.name)),
              ("seconds", .number(seconds, decimals: 2)), ("peak_rss_mb", .number(peakRSSMegabytes() ?? .nan, decimals: 0))])
    }
}

/// `tailor-bench prefill`: prompt processing throughput.
struct PrefillBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prefill", abstract: "Prefill tokens/s (one sequence, logits of the last position).")
    @Option(help: "default, gpt2-124m, llama-135m, or a model path.") var model = "default"
    @Option(help: "Prompt length.") var tokens = 512
    @Option(help: "Timed repetitions (best is reported).") var runs = 3
    @Flag(help: "Keep GGUF weights quantized.") var quantized = false
    @Option(help: "With --quantized: auto (block kernels up to 16 rows; above, integer panels with AVX-512 VNNI, else decoded tiles), blocks (always the block kernels), panels (always the integer panels) or tiles (always decoded tiles).")
    var quantizedKernel = "auto"

    func run() throws {
        guard ["auto", "blocks", "panels", "tiles"].contains(quantizedKernel) else { throw ValidationError("--quantized-kernel: auto, blocks, panels or tiles") }
        if quantizedKernel != "auto" { setenv("TAILOR_QUANTIZED_PRODUCT", quantizedKernel, 1) }
        let loaded = try BenchModels.load(model, keepQuantized: quantized)
        let ids = BenchModels.randomTokens(tokens, vocabulary: loaded.model.description.vocabularySize, seed: 3)
        let best = try GradientMode.withoutGradients {
            try bestTimeThrowing(warmup: 1, runs: runs) {
                let cache = loaded.model.makeCache(batchSize: 1, capacity: tokens)
                _ = try loaded.model.forward(ModelInput(tokens: ids, logits: .last), cache: cache)
            }
        }
        emit([("bench", .string("prefill")), ("impl", .string("tailor")), ("model", .string(loaded.name)),
              ("quantized", .bool(quantized)), ("kernel", .string(quantizedKernel)), ("tokens", .int(tokens)), ("tokens_per_s", .number(Double(tokens) / best, decimals: 1)),
              ("peak_rss_mb", .number(peakRSSMegabytes() ?? .nan, decimals: 0))])
    }
}

/// `tailor-bench decode`: steady-state generation throughput at batch 1 and 8.
struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Decode tokens/s with the KV cache: prompt prefilled, one untimed step, then timed greedy steps.")
    @Option(help: "default, gpt2-124m, llama-135m, or a model path.") var model = "default"
    @Option(help: "Batch sizes to measure.") var batch: [Int] = [1, 8]
    @Option(help: "Timed decoded tokens per sequence.") var tokens = 64
    @Option(help: "Prompt tokens per sequence.") var prompt = 16
    @Flag(help: "Keep GGUF weights quantized.") var quantized = false
    @Option(help: "With --quantized: auto (block kernels up to 16 rows; above, integer panels with AVX-512 VNNI, else decoded tiles), blocks (always the block kernels), panels (always the integer panels) or tiles (always decoded tiles).")
    var quantizedKernel = "auto"

    func run() throws {
        guard ["auto", "blocks", "panels", "tiles"].contains(quantizedKernel) else { throw ValidationError("--quantized-kernel: auto, blocks, panels or tiles") }
        if quantizedKernel != "auto" { setenv("TAILOR_QUANTIZED_PRODUCT", quantizedKernel, 1) }
        let loaded = try BenchModels.load(model, keepQuantized: quantized)
        let m = loaded.model, vocab = m.description.vocabularySize
        for b in batch {
            let promptIDs = BenchModels.randomTokens(prompt * b, vocabulary: vocab, seed: 5)
            let seconds = try GradientMode.withoutGradients { () throws -> Double in
                let cache = m.makeCache(batchSize: b, capacity: prompt + tokens + 2)
                var logits = try m.forward(ModelInput(tokens: promptIDs, batchSize: b, logits: .last), cache: cache)
                var t0 = now()
                for step in 0...tokens {
                    if step == 1 { t0 = now() }  // step 0 is the untimed warm-up
                    let rows = logits.scalars
                    let next = (0..<b).map { r -> Int in
                        var best = 0
                        for j in 1..<vocab where rows[r * vocab + j] > rows[r * vocab + best] { best = j }
                        return best
                    }
                    logits = try m.forward(ModelInput(tokens: next, batchSize: b, logits: .last), cache: cache)
                }
                return now() - t0
            }
            emit([("bench", .string("decode")), ("impl", .string("tailor")), ("model", .string(loaded.name)),
                  ("quantized", .bool(quantized)), ("kernel", .string(quantizedKernel)), ("batch", .int(b)), ("tokens", .int(tokens)),
                  ("tokens_per_s", .number(Double(b * tokens) / seconds, decimals: 1)),
                  ("ms_per_step", .number(seconds / Double(tokens) * 1e3, decimals: 1)),
                  ("peak_rss_mb", .number(peakRSSMegabytes() ?? .nan, decimals: 0))])
        }
    }
}

/// Like `bestTime`, for a throwing body.
func bestTimeThrowing(warmup: Int, runs: Int, _ body: () throws -> Void) throws -> Double {
    for _ in 0..<warmup { try body() }
    var best = Double.infinity
    for _ in 0..<max(1, runs) {
        let t0 = now()
        try body()
        best = min(best, now() - t0)
    }
    return best
}
