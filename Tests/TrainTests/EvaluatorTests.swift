import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

final class EvaluatorTests: XCTestCase {
    func testAFrozenModelIsScoredLikeTheTrainerScoresIt() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        XCTAssertTrue(model.namedParameters().allSatisfy { !$0.parameter.isTrainable }, "loaded models start frozen")
        var rng = SeededRandom(seed: 3)
        let batches = (0..<3).map { _ -> TrainingBatch in
            let ids = (0..<8).map { _ in Int(rng.next() % 96) }
            return TrainingBatch(inputIDs: ids, labels: ids, batchSize: 1)
        }
        var calls: [Int] = []
        let scores = try TeacherForcedEvaluator.evaluate(model, on: FixedBatches(batches)) { done, total in
            XCTAssertEqual(total, 3)
            calls.append(done)
        }
        XCTAssertEqual(calls, [1, 2, 3])
        XCTAssertEqual(scores.targetTokens, 21)
        XCTAssertEqual(scores.perplexity, exp(scores.loss), accuracy: 1e-9)
        // Reference: the mean of the per-batch cross-entropies weighted by their target counts.
        let reference = try GradientMode.withoutGradients {
            try batches.reduce(0.0) { sum, b in
                let logits = try model.forward(ModelInput(tokens: b.inputIDs, logits: .rows(Array(0..<7))), cache: nil)
                return sum + Double(Tensor.crossEntropy(logits: logits, targets: b.labels.dropFirst().map(Int32.init), normalizer: 1).item)
            } / 21
        }
        XCTAssertEqual(scores.loss, reference, accuracy: 1e-6)

        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"])), to: model)
        let record = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1)).evaluate(FixedBatches(batches))
        XCTAssertEqual(Double(record.loss), scores.loss, accuracy: 1e-6, "a zero-initialised adapter changes nothing")
        XCTAssertThrowsError(try TeacherForcedEvaluator.evaluate(model, on: FixedBatches([]))) {
            guard case .noData = $0 as? TrainingError else { return XCTFail("\($0)") }
        }
    }
}
