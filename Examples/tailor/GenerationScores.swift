import Foundation
import Tailor

/// Scores of greedy generations against references: exact match (after trimming), corpus BLEU
/// (sacreBLEU's defaults, 0–100) and mean ROUGE-1/2/L F1 (rouge-score's).
struct GenerationScores: Codable {
    /// One generated answer.
    struct Sample: Codable {
        /// 1-based line of the record in the data file.
        var line: Int
        /// The expected answer.
        var reference: String
        /// The model's answer, trimmed.
        var prediction: String
    }

    var exactMatch: Double
    var bleu: Double
    var rouge1: Double
    var rouge2: Double
    var rougeL: Double
    var samples: [Sample]

    /// Generates an answer to every record's prompt (in batches of `batchSize`) and scores it.
    /// Returns nil when no record has a prompt (plain-text data).
    static func measure(records: [DataRecord], lines: [Int], formatter: PromptFormatter, generator: Generator,
                        config: GenerationConfig, batchSize: Int, label: String) throws -> GenerationScores? {
        let tokenizer = generator.tokenizer
        var prompts: [[Int]] = [], references: [String] = [], kept: [Int] = []
        for (record, line) in zip(records, lines) {
            let ids = tokenizer.encode(try formatter.prompt(for: record), addSpecialTokens: formatter.isRawText(record))
            guard !ids.isEmpty else { continue }
            prompts.append(ids)
            references.append(formatter.reference(for: record))
            kept.append(line)
        }
        guard !prompts.isEmpty else { return nil }
        var config = config
        if let endOfTurn = endOfTurnToken(formatter.template).flatMap({ tokenizer.tokenID(for: $0) }),
           !config.stopTokenIDs.contains(endOfTurn) {
            config.stopTokenIDs.append(endOfTurn)
        }
        let bar = ProgressBar(total: prompts.count, label: label)
        var predictions: [String] = []
        for start in stride(from: 0, to: prompts.count, by: max(1, batchSize)) {
            let chunk = Array(prompts[start..<min(prompts.count, start + max(1, batchSize))])
            // Answers stop at the context limit (finish reason length); a prompt that fills the
            // context leaves no room for one and gets an empty answer.
            let limit = generator.model.description.maxPositions
            var answers = try generator.generateBatch(promptTokens: chunk.filter { $0.count < limit }, config: config).map {
                $0.text.trimmingCharacters(in: .whitespacesAndNewlines)
            }.makeIterator()
            predictions += chunk.map { $0.count < limit ? answers.next() ?? "" : "" }
            bar.update(predictions.count)
        }
        let rouge = try ROUGE.corpusScore(predictions: predictions, targets: references)
        return GenerationScores(
            exactMatch: try ExactMatch.score(predictions: predictions, references: references),
            bleu: try BLEU.corpusScore(hypotheses: predictions, references: references).score,
            rouge1: rouge.rouge1F1, rouge2: rouge.rouge2F1, rougeL: rouge.rougeLF1,
            samples: (0..<predictions.count).map { Sample(line: kept[$0], reference: references[$0], prediction: predictions[$0]) })
    }

    /// The token that closes an assistant turn in `template`, when it has one.
    private static func endOfTurnToken(_ template: ChatTemplate) -> String? {
        switch template {
        case .chatML: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        case .llama2, .alpaca: return nil
        }
    }
}
