import Foundation
import Tailor

/// The demo's data, prepared by Tailor's data pipeline: the training split as trainer batches, and
/// the held-out split as generation prompts with their expected answers.
struct DemoData {
    let train: PipelineBatches
    let testPrompts: [String]
    let testInputs: [String]
    let testReferences: [String]
    let report: DataReport

    /// The system prompt every example is shown with.
    static let systemPrompt = "You are a helpful assistant."

    init(folder: URL, tokenizer: any Tokenizer, template: ChatTemplate, batchSize: Int, evalLimit: Int, seed: UInt64) throws {
        var config = DataConfig(template: template, systemPrompt: Self.systemPrompt, validationFraction: 0)
        config.seed = seed
        config.batching.batchSize = batchSize
        let prepared = try DataPipeline.prepare(contentsOf: folder.appendingPathComponent("train.jsonl"), tokenizer: tokenizer, config: config)
        guard !prepared.train.isEmpty else { throw DemoError("no usable training examples:\n\(prepared.report)") }
        let padID = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
        train = try PipelineBatches(prepared.train, config: config, padID: padID, shuffle: true)
        report = prepared.report
        let test = try JSONLReader.read(contentsOf: folder.appendingPathComponent("test.jsonl"))
        let records = Array(test.records.prefix(evalLimit))
        guard !records.isEmpty else { throw DemoError("no usable test examples in \(folder.path)") }
        testPrompts = try records.map { try prepared.formatter.prompt(for: $0) }
        testReferences = records.map { prepared.formatter.reference(for: $0) }
        testInputs = records.map { record in
            if case .alpaca(_, let input, _) = record { return input }
            return ""
        }
    }
}

/// A one-line error for the demo's user.
struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
