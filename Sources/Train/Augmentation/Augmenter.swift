import Foundation
import Generate
import Model
import Tensor

/// One paraphrased record and where it came from.
public struct AugmentedRecord: Sendable, Hashable {
    /// The record with one field rewritten (every other field as in the original).
    public var record: DataRecord
    /// Index of the original in the records given to ``Augmenter/paraphrases(of:progress:)``.
    public var sourceIndex: Int
    /// The field that was rewritten.
    public var field: AugmentedField
    /// The original text of that field.
    public var original: String

    /// One JSON Lines line in the record's own format (`instruction`/`input`/`output`,
    /// `messages`, or `prompt`/`completion`), plus `augmented_from` (the source index, or the
    /// source line number when `sourceLine` is given), `augmented_field` and `original` for
    /// review. Tailor's reader ignores the extra keys, so the file trains as it is.
    public func jsonLine(sourceLine: Int? = nil) throws -> String {
        var object: [String: Any]
        switch record {
        case .alpaca(let instruction, let input, let output):
            object = ["instruction": instruction, "input": input, "output": output]
        case .chat(let messages):
            object = ["messages": messages.map { ["role": $0.role.rawValue, "content": $0.content] }]
        case .completion(let prompt, let completion):
            object = ["prompt": prompt, "completion": completion]
        case .text(let text):
            object = ["text": text]
        }
        object["augmented_from"] = sourceLine ?? sourceIndex
        object["augmented_field"] = field.rawValue
        object["original"] = original
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// What happened to the generated paraphrases.
public struct AugmentationReport: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Paraphrases requested (records × fields present × paraphrases per field).
    public var requested = 0
    /// Kept.
    public var kept = 0
    /// Empty after cleaning.
    public var empty = 0
    /// The same as the original (under the deduplication rule).
    public var unchanged = 0
    /// Outside the length ratios.
    public var wrongLength = 0
    /// The same as an earlier paraphrase or another original record.
    public var duplicate = 0

    public var description: String {
        "\(kept) of \(requested) paraphrases kept; dropped: \(empty) empty, \(unchanged) unchanged, \(wrongLength) too short or long, \(duplicate) duplicates"
    }
}

/// Data augmentation by the model itself: for every record it asks the model (sampling, seeded)
/// to paraphrase the instruction and the input, cleans each answer, and keeps those that are
/// neither empty, nor the original, nor far shorter or longer, nor duplicates (of an original or
/// of one another). The result is meant to be written as JSON Lines and reviewed before training.
///
/// ```swift
/// let augmenter = try Augmenter(generator: Generator(model: model, tokenizer: tokenizer), template: .qwen2_5,
///                               options: AugmentationOptions(paraphrasesPerField: 3, seed: 7))
/// let (paraphrases, report) = try augmenter.paraphrases(of: records)
/// ```
public struct Augmenter {
    /// Generates the paraphrases (its tokenizer encodes the requests).
    public let generator: Generator
    /// Chat template the requests are rendered with.
    public let template: ChatTemplate
    /// Settings.
    public let options: AugmentationOptions

    /// An augmenter; throws ``DataError/invalidConfiguration(_:)`` for invalid options.
    public init(generator: Generator, template: ChatTemplate, options: AugmentationOptions = AugmentationOptions()) throws {
        try options.validate()
        self.generator = generator
        self.template = template
        self.options = options
    }

    /// Paraphrases of `records` in order (record by record, field by field); `progress` gets
    /// (records done, records in total).
    public func paraphrases(of records: [DataRecord], progress: ((Int, Int) -> Void)? = nil) throws
        -> (records: [AugmentedRecord], report: AugmentationReport) {
        var report = AugmentationReport()
        var seen = Set<String>()
        for record in records { if let key = options.deduplication.key(for: record) { seen.insert(key) } }
        var kept: [AugmentedRecord] = []
        let root = SeededRandom(seed: options.seed)
        for (index, record) in records.enumerated() {
            let perRecord = root.derived(stream: UInt64(index))
            for (f, field) in options.fields.enumerated() {
                guard let original = Self.text(of: field, in: record), !original.isEmpty else { continue }
                let prompt = try requestPrompt(for: original)
                for k in 0..<options.paraphrasesPerField {
                    report.requested += 1
                    var random = perRecord.derived(stream: UInt64(f * options.paraphrasesPerField + k))
                    var config = options.sampling
                    config.seed = random.next()
                    let answer = try generator.generate(prompt: prompt, config: config, addSpecialTokens: false).text
                    let text = clean(answer, like: original)
                    guard !text.isEmpty else { report.empty += 1; continue }
                    let candidate = Self.replacing(field, in: record, with: text)
                    let same = options.deduplication == .none ? text == original
                        : options.deduplication.key(for: .text(text)) == options.deduplication.key(for: .text(original))
                    guard !same else { report.unchanged += 1; continue }
                    let ratio = Double(text.count) / Double(original.count)
                    guard ratio >= options.minimumLengthRatio, ratio <= options.maximumLengthRatio else { report.wrongLength += 1; continue }
                    if let key = options.deduplication.key(for: candidate), !seen.insert(key).inserted { report.duplicate += 1; continue }
                    kept.append(AugmentedRecord(record: candidate, sourceIndex: index, field: field, original: original))
                    report.kept += 1
                }
            }
            progress?(index + 1, records.count)
        }
        return (kept, report)
    }

    /// The rendered request for one text, ending with the template's generation prompt.
    func requestPrompt(for text: String) throws -> String {
        try PromptFormatter(template: template).prompt(for: .chat([.user(options.request + "\n\n" + text)]))
    }

    /// The model's answer cleaned: the options' cleaning, surrounding quotes removed, and for a
    /// one-line original only the first non-empty line.
    func clean(_ answer: String, like original: String) -> String {
        var text = answer
        if !original.contains("\n") {
            text = text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? ""
        }
        text = TextCleaner.clean(text, options: options.cleaning).trimmingCharacters(in: .whitespacesAndNewlines)
        for (open, close) in [("\"", "\""), ("“", "”"), ("'", "'")] where text.count >= 2 && text.hasPrefix(open) && text.hasSuffix(close) {
            text = String(text.dropFirst().dropLast()).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return text
    }

    /// The text of `field` in `record`, or nil when the record has no such field.
    static func text(of field: AugmentedField, in record: DataRecord) -> String? {
        switch (field, record) {
        case (.instruction, .alpaca(let instruction, _, _)): return instruction
        case (.input, .alpaca(_, let input, _)): return input
        case (.instruction, .chat(let messages)): return messages.last { $0.role == .user }?.content
        case (.instruction, .completion(let prompt, _)): return prompt
        default: return nil
        }
    }

    /// `record` with `field` replaced by `text`.
    static func replacing(_ field: AugmentedField, in record: DataRecord, with text: String) -> DataRecord {
        switch (field, record) {
        case (.instruction, .alpaca(_, let input, let output)): return .alpaca(instruction: text, input: input, output: output)
        case (.input, .alpaca(let instruction, _, let output)): return .alpaca(instruction: instruction, input: text, output: output)
        case (.instruction, .chat(var messages)):
            if let i = messages.lastIndex(where: { $0.role == .user }) { messages[i] = ChatMessage(role: .user, content: text) }
            return .chat(messages)
        case (.instruction, .completion(_, let completion)): return .completion(prompt: text, completion: completion)
        default: return record
        }
    }
}
