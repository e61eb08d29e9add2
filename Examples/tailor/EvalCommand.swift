import ArgumentParser
import Foundation
import Tailor

/// `tailor eval`: teacher-forced and generation metrics on a JSONL file.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model (and adapter) on a JSONL file: perplexity and token accuracy, then exact match, BLEU and ROUGE of greedy answers; optionally perplexity on general text (forgetting).")

    @OptionGroup var model: ModelOptions
    @Option(help: "The JSONL file (alpaca, chat, completion or text records).") var data: String
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Score only the first N examples.") var limit: Int?
    @Option(help: "Maximum new tokens per generated answer.") var maxTokens = 128
    @Flag(help: "Skip generation: teacher-forced metrics only.") var noGenerate = false
    @Option(help: "Also report perplexity on this plain-text file (e.g. Examples/Data/general/general.txt) to measure forgetting; with --adapter, also with the adapter switched off.")
    var generalText: String?
    @Option(help: "Window length in tokens for --general-text (capped at the model's context).") var generalWindow = 512
    @Flag(help: "Print the results as one JSON object (with every prediction) instead of a table.") var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        if let b = dataOptions.batchSize, b < 1 { throw ValidationError("--batch-size must be at least 1") }
        guard generalWindow >= 2 else { throw ValidationError("--general-window must be at least 2") }
    }

    func run() throws {
        let (m, tokenizer) = try model.load()
        var config = dataOptions.applied(to: DataConfig(deduplication: .none, validationFraction: 0))
        if dataOptions.batchSize == nil { config.batching.batchSize = 8 }
        // Examples longer than the model's context are truncated to it instead of failing the run.
        config.maxSequenceLength = min(config.maxSequenceLength, m.description.maxPositions)
        config.batching.shuffle = false
        config.batching.groupByLength = false
        let loaded = try LoadedData(path: data, tokenizer: tokenizer, config: config)
        if let warning = loaded.warning { log("warning: " + warning) }
        let count = min(limit ?? Int.max, loaded.prepared.train.count)
        let examples = Array(loaded.prepared.train.prefix(count))
        let padID = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
        let batches = try PipelineBatches(examples, config: config, padID: padID, shuffle: false)

        let bar = ProgressBar(total: batches.batcher.batchesPerEpoch, label: "Scoring   ")
        let scores = try TeacherForcedEvaluator.evaluate(m, on: batches) { done, _ in bar.update(done) }
        let general = try generalText.map {
            try GeneralTextScores.measure(path: $0, model: m, tokenizer: tokenizer, window: generalWindow,
                                          batchSize: config.batching.batchSize, comparingBase: model.adapter != nil)
        }
        var generation: GenerationScores?
        if !noGenerate {
            var gen = GenerationConfig.greedy
            gen.maxNewTokens = maxTokens
            generation = try GenerationScores.measure(
                records: Array(loaded.trainRecords.prefix(count)), lines: Array(loaded.prepared.trainLineNumbers.prefix(count)),
                formatter: loaded.prepared.formatter, generator: Generator(model: m, tokenizer: tokenizer), config: gen,
                batchSize: config.batching.batchSize, label: "Generating")
        }
        if json {
            var object: [String: Any] = [
                "data": data, "examples": count, "target_tokens": scores.targetTokens, "loss": scores.loss,
                "perplexity": scores.perplexity, "token_accuracy": scores.tokenAccuracy,
                "malformed_lines": loaded.prepared.report.malformed.count, "dropped": loaded.prepared.report.droppedTotal,
                "format": loaded.prepared.report.format.rawValue, "template": loaded.prepared.report.template,
            ]
            if let adapter = model.adapter { object["adapter"] = adapter }
            if let general { object.merge(general.json) { a, _ in a } }
            if let g = generation {
                object["exact_match"] = g.exactMatch
                object["bleu"] = g.bleu
                object["rouge1"] = g.rouge1
                object["rouge2"] = g.rouge2
                object["rougeL"] = g.rougeL
                object["samples"] = g.samples.map { ["line": $0.line, "reference": $0.reference, "prediction": $0.prediction] as [String: Any] }
            }
            print(try jsonLine(object))
        } else {
            var lines = ["\(data): \(count) examples, \(scores.targetTokens) target tokens" + (model.adapter.map { ", adapter \($0)" } ?? ""),
                         String(format: "  loss             %.4f", scores.loss),
                         String(format: "  perplexity       %.4f", scores.perplexity),
                         String(format: "  token accuracy   %.2f%%", 100 * scores.tokenAccuracy)]
            lines += general?.lines ?? []
            if let g = generation {
                lines += [String(format: "  exact match      %.2f%%  (%d greedy answers)", 100 * g.exactMatch, g.samples.count),
                          String(format: "  BLEU             %.2f", g.bleu),
                          String(format: "  ROUGE-1/2/L F1   %.2f / %.2f / %.2f", 100 * g.rouge1, 100 * g.rouge2, 100 * g.rougeL)]
            }
            print(lines.joined(separator: "\n"))
        }
    }
}

/// Writes a progress or warning line to standard error.
func log(_ message: String) { FileHandle.standardError.write(Data((message + "\n").utf8)) }

/// One line of JSON with sorted keys; non-finite numbers become null.
func jsonLine(_ object: [String: Any]) throws -> String {
    func clean(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let f as Float: return f.isFinite ? Double(f) : NSNull()
        case let a as [Any]: return a.map(clean)
        case let o as [String: Any]: return o.mapValues(clean)
        default: return value
        }
    }
    let data = try JSONSerialization.data(withJSONObject: clean(object), options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
