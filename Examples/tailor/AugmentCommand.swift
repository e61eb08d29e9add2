import ArgumentParser
import Foundation
import Tailor

/// `tailor augment`: the model paraphrases each record's instruction and input; the kept
/// paraphrases are written as JSON Lines for review before training.
struct AugmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "Ask the model for paraphrases of each record's instruction and input (seeded sampling), drop empty, unchanged, too short or long and duplicate ones, and write them as JSONL for review.",
        discussion: "Each output line is a record in the input's format plus augmented_from (the source line), augmented_field and original; Tailor's reader ignores those keys, so the reviewed file can be concatenated with the original for training.")

    @OptionGroup var model: ModelOptions
    @Option(help: "The JSONL file (alpaca, chat or completion records; text records are skipped).") var data: String
    @Option(name: .shortAndLong, help: "Where the paraphrases go (JSONL).") var output: String
    @Option(help: "JSONL layout (default: detected from the file).") var format: DataFormat?
    @Option(help: "Prompt template for the requests (default: the tokenizer's chat template, else chatml).") var template: TemplateChoice?
    @Option(help: "Paraphrases requested per record and field.") var paraphrases = 2
    @Option(help: "Fields to rewrite, comma-separated: instruction, input.") var fields = "instruction,input"
    @Option(help: "Sampling temperature (> 0).") var temperature: Float = 0.8
    @Option(help: "Top-p nucleus mass.") var topP: Float = 0.95
    @Option(help: "Maximum new tokens per paraphrase.") var maxTokens = 128
    @Option(help: "Seed: the same seed, model and data give the same file.") var seed: UInt64 = 0
    @Option(help: "Drop paraphrases shorter than this share of the original's characters.") var minLengthRatio = 0.5
    @Option(help: "Drop paraphrases longer than this share of the original's characters.") var maxLengthRatio = 2.0
    @Option(help: "Duplicate rule: none, exact or normalized.") var dedup: Deduplication = .normalized
    @Option(help: "Augment only the first N records.") var limit: Int?

    func validate() throws {
        guard paraphrases >= 1 else { throw ValidationError("--paraphrases must be at least 1") }
        guard temperature.isFinite, temperature > 0 else { throw ValidationError("--temperature must be positive (paraphrases are sampled)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        _ = try fieldList()
    }

    private func fieldList() throws -> [AugmentedField] {
        let names = fields.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("--fields must name at least one field") }
        return try names.map {
            guard let f = AugmentedField(rawValue: $0) else { throw ValidationError("--fields: unknown field \"\($0)\" (known: instruction, input)") }
            return f
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: data)
        guard FileManager.default.fileExists(atPath: url.path) else { throw CLIError("no data file at \(data)") }
        let loaded = try JSONLReader.read(contentsOf: url, format: format)
        if !loaded.malformed.isEmpty { log("warning: \(loaded.malformed.count) malformed line(s) skipped") }
        let count = min(limit ?? Int.max, loaded.records.count)
        let (m, tokenizer) = try model.load()
        let chosen = template?.template ?? ChatTemplate.detect(tokenizer: tokenizer) ?? .chatML(defaultSystemPrompt: nil)
        var sampling = GenerationConfig(maxNewTokens: maxTokens, temperature: temperature, topP: topP)
        sampling.stopOnEOS = true
        let options = AugmentationOptions(paraphrasesPerField: paraphrases, fields: try fieldList(), sampling: sampling, seed: seed,
                                          minimumLengthRatio: minLengthRatio, maximumLengthRatio: maxLengthRatio, deduplication: dedup)
        let augmenter = try Augmenter(generator: Generator(model: m, tokenizer: tokenizer), template: chosen, options: options)
        let bar = ProgressBar(total: count, label: "Paraphrasing")
        let (records, report) = try augmenter.paraphrases(of: Array(loaded.records.prefix(count))) { done, _ in bar.update(done) }
        let lines = try records.map { try $0.jsonLine(sourceLine: loaded.lineNumbers[$0.sourceIndex]) }
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        log("\(count) records: \(report)")
        print("\(records.count) paraphrases written to \(output) — review them before training")
    }
}

extension Deduplication: ExpressibleByArgument {}
