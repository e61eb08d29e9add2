import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// Block-wise gradient checkpointing changes memory, never the numbers.
final class GradientCheckpointingTests: XCTestCase {
    private func batch() -> TrainingBatch {
        var rng = SeededRandom(seed: 5)
        let ids = (0..<24).map { _ in Int(rng.next() % 96) }
        let labels: [Int] = (0..<24).map { (i: Int) -> Int in
            let t = i % 12
            return t < 3 ? TokenizedExample.ignoreIndex : ids[i]
        }
        return TrainingBatch(inputIDs: ids, labels: labels, batchSize: 2)
    }

    /// Gradients of two identical fresh models, with and without checkpointing, plus the losses of two training steps.
    private func compare(_ name: String, lora: LoRAConfiguration?) throws {
        func run(_ checkpointing: Bool) throws -> (grads: [String: Tensor], losses: [Float]) {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel(name))
            if let lora { try Adapters.apply(lora, to: model, seed: 9) } else {
                for (_, p) in model.namedParameters() { p.isTrainable = true }
            }
            let config = TrainingConfiguration(maxSteps: 2, learningRate: 1e-2, decay: .constant, gradientCheckpointing: checkpointing)
            let trainer = try Trainer(model: model, configuration: config)
            let grads = try trainer.gradients(of: batch())
            let history = try trainer.fit(train: FixedBatches([batch()]))
            return (grads, history.steps.map(\.loss))
        }
        let plain = try run(false), checkpointed = try run(true)
        XCTAssertEqual(Set(plain.grads.keys), Set(checkpointed.grads.keys), name)
        XCTAssertFalse(plain.grads.isEmpty)
        for (key, g) in plain.grads {
            XCTAssertLessThan(maxAbsoluteError(checkpointed.grads[key]!.scalars, g.scalars), 1e-6, "\(name) \(key)")
        }
        XCTAssertLessThan(maxAbsoluteError(checkpointed.losses, plain.losses), 1e-6, name)
    }

    func testFullFineTuningGradientsAreUnchanged() throws {
        try compare("llama", lora: nil)
        try compare("gpt2", lora: nil)
    }

    func testLoRAGradientsAreUnchangedEvenWithDropout() throws {
        let lora = LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.2, targetModules: .names(["q_proj", "v_proj", "down_proj"]),
                                     initialization: .gaussian)
        try compare("llama", lora: lora)
        try compare("qwen2", lora: lora)
        try compare("gpt2", lora: LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.2, targetModules: .names(["c_attn", "c_fc"])))
    }
}
