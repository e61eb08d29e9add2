import Foundation
import Tailor

/// Held-out scores of one model state.
struct DemoScores: Codable {
    var exactMatch: Double
    var rougeL: Double
    var seconds: Double
    var samples: [Sample]

    struct Sample: Codable {
        var input: String
        var expected: String
        var predicted: String
    }
}

/// Greedy answers to every test prompt, generated in batches, scored by exact match and ROUGE-L.
func evaluate(_ data: DemoData, generator: Generator, batchSize: Int, label: String) throws -> DemoScores {
    let start = Date()
    var config = GenerationConfig.greedy
    config.maxNewTokens = 16
    let prompts = data.testPrompts.map { generator.tokenizer.encode($0, addSpecialTokens: false) }
    var predictions: [String] = []
    let bar = ProgressBar(total: prompts.count, label: label)
    for chunk in stride(from: 0, to: prompts.count, by: batchSize) {
        let batch = Array(prompts[chunk..<min(prompts.count, chunk + batchSize)])
        predictions += try generator.generateBatch(promptTokens: batch, config: config).map {
            $0.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        bar.update(predictions.count)
    }
    let references = data.testReferences
    let exact = try ExactMatch.score(predictions: predictions, references: references)
    let rouge = try ROUGE.corpusScore(predictions: predictions, targets: references)
    let samples = (0..<min(3, references.count)).map {
        DemoScores.Sample(input: data.testInputs[$0], expected: references[$0], predicted: predictions[$0])
    }
    return DemoScores(exactMatch: exact, rougeL: rouge.rougeLF1, seconds: Date().timeIntervalSince(start), samples: samples)
}
