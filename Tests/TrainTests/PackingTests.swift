import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// Packed rows (several examples back to back, per-example positions, block-diagonal attention)
/// give exactly the losses and gradients of the same examples padded one per row.
final class PackingTests: XCTestCase {
    private func examples() -> [TokenizedExample] {
        var rng = SeededRandom(seed: 17)
        return [7, 4, 9, 5].enumerated().map { i, length in
            let ids = (0..<length).map { _ in Int(rng.next() % 96) }
            // A prompt of i+1 tokens without targets.
            let labels = ids.enumerated().map { $0.offset <= i ? TokenizedExample.ignoreIndex : $0.element }
            return TokenizedExample(inputIDs: ids, labels: labels)
        }
    }

    private func batch(packed: Bool, examples: [TokenizedExample]) throws -> TrainingBatch {
        let options = BatchingOptions(batchSize: examples.count, packing: packed, groupByLength: false, shuffle: false)
        let batcher = try Batcher(examples: examples, options: options, maxSequenceLength: packed ? 16 : 9, padTokenID: 0, seed: 1)
        let batches = batcher.batches(epoch: 0)
        XCTAssertEqual(batches.count, 1)
        XCTAssertEqual(batches[0].isPacked, packed)
        return batches[0]
    }

    func testPackedBatchGivesTheLossesAndGradientsOfTheUnpackedExamples() throws {
        let data = examples()
        let packed = try batch(packed: true, examples: data), padded = try batch(packed: false, examples: data)
        XCTAssertEqual(packed.batchSize, 2, "25 tokens in rows of 16")
        XCTAssertEqual(padded.batchSize, 4)
        XCTAssertEqual(packed.targetCount, padded.targetCount)
        XCTAssertNotNil(packed.segments)
        for name in ["llama", "gpt2", "qwen2"] {
            for lora in [false, true] {
                let model = try LanguageModel.loadModel(from: Fixtures.tinyModel(name))
                if lora {
                    let targets = name == "gpt2" ? ["c_attn"] : ["q_proj", "v_proj"]
                    try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(targets), initialization: .gaussian), to: model, seed: 2)
                } else {
                    for (_, p) in model.namedParameters() { p.isTrainable = true }
                }
                let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1))
                let a = try trainer.evaluate(FixedBatches([packed])), b = try trainer.evaluate(FixedBatches([padded]))
                XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6, "\(name) loss")
                XCTAssertEqual(a.tokenAccuracy, b.tokenAccuracy, "\(name)")
                let ga = try trainer.gradients(of: packed), gb = try trainer.gradients(of: padded)
                XCTAssertEqual(Set(ga.keys), Set(gb.keys))
                for (key, g) in gb {
                    let scale = max(1e-6, g.scalars.map(abs).max() ?? 0)
                    XCTAssertLessThan(maxAbsoluteError(ga[key]!.scalars, g.scalars) / scale, 1e-4, "\(name) lora \(lora) \(key)")
                }
            }
        }
        // Without the segments (a plain causal mask across the row) the loss differs: the test can fail.
        var leaky = packed
        leaky.segments = nil
        leaky.positions = nil
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        for (_, p) in model.namedParameters() { p.isTrainable = true }
        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1))
        XCTAssertNotEqual(try trainer.evaluate(FixedBatches([leaky])).loss, try trainer.evaluate(FixedBatches([padded])).loss, accuracy: 1e-4)
    }

    func testSegmentStartsAndBadSegmentsAreTypedErrors() throws {
        XCTAssertEqual(AttentionMask.segmentStarts(segments: [1, 1, 2, 2, 2, 0, 1, 2, 2, 3], batch: 2), [0, 0, 2, 2, 2, 0, 1, 2, 2, 4])
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, 2, 3], segments: [1, 1]), cache: nil)) {
            guard case .badShape = $0 as? ModelInputError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, 2], segments: [1, 1]), cache: model.makeCache()))
        for (_, p) in model.namedParameters() { p.isTrainable = true }
        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1))
        let bad = TrainingBatch(inputIDs: [1, 2, 3], labels: [-100, 2, 3], batchSize: 1, positions: [0, 1])
        XCTAssertThrowsError(try trainer.gradients(of: bad)) { XCTAssertEqual($0 as? TrainingError, .invalidBatch("2 positions for 3 tokens")) }
    }

    func testPipelineBatchesPackAndFollowTheTrainersSeed() throws {
        var config = DataConfig(maxSequenceLength: 16)
        config.batching = BatchingOptions(batchSize: 1, packing: true)
        let data = examples() + examples().map { TokenizedExample(inputIDs: $0.inputIDs.reversed(), labels: $0.labels) }
        let pipeline = try PipelineBatches(data, config: config, padID: 0, shuffle: true)
        let a = pipeline.batches(epoch: 0, seed: 1)
        XCTAssertTrue(a.allSatisfy { $0.segments != nil && $0.positions != nil })
        XCTAssertEqual(a, pipeline.batches(epoch: 0, seed: 1))
        let orders = (2..<8).map { pipeline.batches(epoch: 0, seed: UInt64($0)) }
        XCTAssertTrue(orders.contains { $0 != a }, "another seed, another order")
    }
}
