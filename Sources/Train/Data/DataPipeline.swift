import Foundation
import Model

/// Training and validation examples ready for batching, with the report of how they were made.
public struct PreparedData: Sendable, Hashable {
    /// Training examples, in dataset order.
    public var train: [TokenizedExample]
    /// Validation examples, in dataset order.
    public var validation: [TokenizedExample]
    /// Source line number of each training example.
    public var trainLineNumbers: [Int]
    /// Source line number of each validation example.
    public var validationLineNumbers: [Int]
    /// The prompt formatting that was used (also needed to build prompts at generation time).
    public var formatter: PromptFormatter
    /// What was kept, dropped and why.
    public var report: DataReport
}

/// Loads, cleans, deduplicates, formats, tokenizes, filters and splits a dataset.
///
/// Order of steps: read JSONL (malformed lines skipped and listed) → clean every text field →
/// drop records left empty → deduplicate → render prompt/response segments with the template →
/// tokenize with masked labels and EOS → drop by `minTokens`/`maxTokens` → truncate to
/// `maxSequenceLength` → drop examples with no target token → seeded train/validation split.
public enum DataPipeline {
    /// Prepares the JSONL file at `url`.
    public static func prepare<T: Tokenizer>(contentsOf url: URL, tokenizer: T, config: DataConfig) throws -> PreparedData {
        try config.validate()
        return try prepare(JSONLReader.read(contentsOf: url, format: config.format), tokenizer: tokenizer, config: config)
    }

    /// Prepares in-memory records.
    public static func prepare<T: Tokenizer>(records: [DataRecord], tokenizer: T, config: DataConfig) throws -> PreparedData {
        try prepare(LoadedDataset(records: records), tokenizer: tokenizer, config: config)
    }

    /// The formatter `config` implies for `tokenizer`: the configured template, else the one
    /// detected from the tokenizer's chat template, else Alpaca.
    public static func formatter<T: Tokenizer>(for config: DataConfig, tokenizer: T) -> PromptFormatter {
        PromptFormatter(template: config.template ?? ChatTemplate.detect(tokenizer: tokenizer) ?? .alpaca,
                        systemPrompt: config.systemPrompt)
    }

    /// Prepares already loaded records.
    public static func prepare<T: Tokenizer>(_ loaded: LoadedDataset, tokenizer: T, config: DataConfig) throws -> PreparedData {
        try config.validate()
        let formatter = formatter(for: config, tokenizer: tokenizer)
        var dropped: [DropReason: [Int]] = [:]
        func drop(_ reason: DropReason, _ line: Int) { dropped[reason, default: []].append(line) }

        // Clean, then drop records whose required text vanished.
        var records: [DataRecord] = []
        var lines: [Int] = []
        records.reserveCapacity(loaded.records.count)
        for (record, line) in zip(loaded.records, loaded.lineNumbers) {
            let cleaned = record.mapText { TextCleaner.clean($0, options: config.cleaning) }
            if cleaned.requiredTexts.contains(where: { $0.unicodeScalars.allSatisfy(\.properties.isWhitespace) }) {
                drop(.emptyAfterCleaning, line)
            } else {
                records.append(cleaned)
                lines.append(line)
            }
        }

        let (keptIndices, duplicates) = config.deduplication.partition(records)
        for index in duplicates { drop(.duplicate, lines[index]) }

        // Format, tokenize, filter and truncate.
        let encoder = ExampleEncoder(tokenizer: tokenizer, trainOnPrompt: config.trainOnPrompt, appendEOS: config.appendEOS)
        var examples: [TokenizedExample] = []
        var exampleLines: [Int] = []
        var truncatedLines: [Int] = []
        for index in keptIndices {
            let record = records[index], line = lines[index]
            let segments: [ChatSegment]
            do {
                segments = try formatter.segments(for: record)
            } catch {
                drop(.templateError, line)
                continue
            }
            var example = encoder.encode(segments, isRawText: formatter.isRawText(record))
            if example.count < config.minTokens { drop(.tooShort, line); continue }
            if let maxTokens = config.maxTokens, example.count > maxTokens { drop(.tooLong, line); continue }
            if example.count > config.maxSequenceLength {
                example = example.truncated(to: config.maxSequenceLength, side: config.truncation)
                truncatedLines.append(line)
            }
            if example.targetTokenCount == 0 { drop(.noTargetTokens, line); continue }
            examples.append(example)
            exampleLines.append(line)
        }
        guard !examples.isEmpty else { throw DataError.noUsableExamples(source: loaded.source) }

        let split = DatasetSplit(count: examples.count, validationFraction: config.validationFraction, seed: config.seed)
        let train = split.train.map { examples[$0] }
        let validation = split.validation.map { examples[$0] }
        let report = DataReport(
            source: loaded.source, format: loaded.format, template: describe(formatter.template),
            linesRead: loaded.lineCount, malformed: loaded.malformed,
            dropped: dropped.mapValues { $0.sorted() }, truncatedLines: truncatedLines,
            trainExamples: train.count, validationExamples: validation.count,
            trainTokens: train.reduce(0) { $0 + $1.count }, trainTargetTokens: train.reduce(0) { $0 + $1.targetTokenCount },
            validationTokens: validation.reduce(0) { $0 + $1.count },
            validationTargetTokens: validation.reduce(0) { $0 + $1.targetTokenCount },
            longestExample: examples.map(\.count).max() ?? 0)
        return PreparedData(train: train, validation: validation,
                            trainLineNumbers: split.train.map { exampleLines[$0] },
                            validationLineNumbers: split.validation.map { exampleLines[$0] },
                            formatter: formatter, report: report)
    }

    private static func describe(_ template: ChatTemplate) -> String {
        switch template {
        case .chatML(let system): return system == nil ? "ChatML" : "ChatML (default system prompt)"
        case .llama2: return "Llama-2"
        case .llama3: return "Llama-3"
        case .alpaca: return "Alpaca"
        }
    }
}
