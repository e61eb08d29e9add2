import ArgumentParser
import Foundation
import Tailor

/// Data flags shared by `finetune` and `eval`; each overrides the matching `DataConfig` setting.
struct DataOptions: ParsableArguments {
    @Option(help: "JSONL layout (default: detected from the file).")
    var format: DataFormat?

    @Option(help: "Prompt template for alpaca and chat records (default: the tokenizer's chat template, else alpaca).")
    var template: TemplateChoice?

    @Option(help: "System message for conversations that have none.")
    var systemPrompt: String?

    @Option(help: "Longest example in tokens; longer ones are truncated (default 1024).")
    var maxLength: Int?

    @Option(help: "Examples per batch (default 4).")
    var batchSize: Int?

    /// `config` with the flags that were given applied.
    func applied(to config: DataConfig) -> DataConfig {
        var c = config
        if let format { c.format = format }
        if let template { c.template = template.template }
        if let systemPrompt { c.systemPrompt = systemPrompt }
        if let maxLength { c.maxSequenceLength = maxLength }
        if let batchSize { c.batching.batchSize = batchSize }
        return c
    }
}

extension DataFormat: ExpressibleByArgument {}

/// The `--template` values.
enum TemplateChoice: String, ExpressibleByArgument, CaseIterable {
    case chatml, qwen25 = "qwen2.5", llama2, llama3, alpaca

    var template: ChatTemplate {
        switch self {
        case .chatml: return .chatML(defaultSystemPrompt: nil)
        case .qwen25: return .qwen2_5
        case .llama2: return .llama2Chat
        case .llama3: return .llama3Instruct
        case .alpaca: return .alpaca
        }
    }
}

/// A dataset after the data pipeline: tokenized examples and the cleaned records they came from.
struct LoadedData {
    /// What the pipeline produced (its training split holds every example when no split was asked for).
    let prepared: PreparedData
    /// The cleaned record of each training example, in the same order.
    let trainRecords: [DataRecord]
    /// The cleaned record of each validation example, in the same order.
    let validationRecords: [DataRecord]

    /// Reads, cleans, formats and tokenizes the JSONL file at `path`.
    init(path: String, tokenizer: any Tokenizer, config: DataConfig) throws {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: url.path) else { throw CLIError("no data file at \(path)") }
        try config.validate()
        let loaded = try JSONLReader.read(contentsOf: url, format: config.format)
        prepared = try DataPipeline.prepare(loaded, tokenizer: tokenizer, config: config)
        var byLine: [Int: DataRecord] = [:]
        for (record, line) in zip(loaded.records, loaded.lineNumbers) {
            byLine[line] = record.mapText { TextCleaner.clean($0, options: config.cleaning) }
        }
        trainRecords = prepared.trainLineNumbers.compactMap { byLine[$0] }
        validationRecords = prepared.validationLineNumbers.compactMap { byLine[$0] }
    }

    /// One line about skipped and dropped lines, or nil when every line was used.
    var warning: String? {
        let r = prepared.report
        guard !r.malformed.isEmpty || r.droppedTotal > 0 || !r.truncatedLines.isEmpty else { return nil }
        var parts: [String] = []
        if !r.malformed.isEmpty {
            let shown = r.malformed.prefix(3).map(\.description).joined(separator: "; ")
            parts.append("skipped \(r.malformed.count) malformed line(s) (\(shown)\(r.malformed.count > 3 ? "; …" : ""))")
        }
        if r.droppedTotal > 0 {
            parts.append("dropped \(r.droppedTotal) (" + r.droppedCounts.sorted { $0.key.label < $1.key.label }
                .map { "\($0.key.label): \($0.value)" }.joined(separator: ", ") + ")")
        }
        if !r.truncatedLines.isEmpty { parts.append("truncated \(r.truncatedLines.count)") }
        return "\(r.source): " + parts.joined(separator: "; ")
    }
}

