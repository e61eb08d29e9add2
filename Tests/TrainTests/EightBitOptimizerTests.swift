import Foundation
import Model
import Tensor
import TestSupport
import Train
import XCTest

/// `OptimizerKind.adamW8bit` in the trainer: 8-bit state for large parameters, Float32 for small
/// ones, checkpoints that resume bit-exactly, and tampered 8-bit state refused. (The update itself
/// is checked against bitsandbytes in `AdamW8bitTests`.)
final class EightBitOptimizerTests: XCTestCase {
    private var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adamw8bit-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A random Llama whose embedding, head and projections have at least 4096 weights (8-bit
    /// state) and whose norms have fewer (Float32 state), fully trainable.
    private func model() throws -> LlamaModel {
        let c = LlamaConfiguration(vocabularySize: 96, hiddenSize: 64, intermediateSize: 96, layerCount: 1, headCount: 4, kvHeadCount: 2)
        let model = try LlamaModel(configuration: c, seed: 7)
        model.setTrainable(true)
        return model
    }

    private func batches() -> [TrainingBatch] {
        var rng = SeededRandom(seed: 5)
        return (0..<4).map { _ in
            let ids = (0..<12).map { _ in Int(rng.next() % 96) }
            return TrainingBatch(inputIDs: ids, labels: ids, batchSize: 1)
        }
    }

    private func configuration(steps: Int, saveEvery: Int? = nil) -> TrainingConfiguration {
        TrainingConfiguration(maxSteps: steps, learningRate: 1e-2, decay: .constant, optimizer: .adamW8bit(),
                              saveEvery: saveEvery, checkpointDirectory: saveEvery == nil ? nil : dir.path)
    }

    private func values(_ model: LlamaModel) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.value.scalars) })
    }

    func testLargeParametersKeepEightBitStateAndTrainingLearns() throws {
        let model = try model()
        let trainer = try Trainer(model: model, configuration: configuration(steps: 8))
        let history = try trainer.fit(train: FixedBatches(Array(batches().prefix(1))))
        let losses = history.steps.map(\.loss)
        XCTAssertLessThan(try XCTUnwrap(losses.last), 0.8 * (try XCTUnwrap(losses.first)), "the loss on the repeated batch falls")
        let tensors = trainer.optimizer.stateTensors()
        XCTAssertNotNil(tensors["state1.model.embed_tokens.weight"])
        XCTAssertNotNil(tensors["absmax2.lm_head.weight"])
        XCTAssertNotNil(tensors["first.model.norm.weight"], "a 64-value norm keeps Float32 moments")
        let weights = trainer.trainableParameters.reduce(0) { $0 + $1.parameter.value.count }
        XCTAssertLessThan(trainer.optimizer.stateByteCount, 8 * weights / 3, "about 2 bytes of state per large weight")
    }

    /// Clipping scales gradients inside the update: for every optimizer the result equals an
    /// update with pre-scaled gradients, bit for bit (sizes above and below the 8-bit threshold
    /// and AdamW's scratch slice).
    func testGradientScaleEqualsPrescaledGradients() throws {
        var rng = SeededRandom(seed: 12)
        let sizes = ["big": 40_000, "small": 100]
        let start = sizes.mapValues { Tensor.normal([$0], using: &rng) }
        let grads = sizes.mapValues { Tensor.normal([$0], using: &rng) }
        for kind in [OptimizerKind.adamW(), .sgd(momentum: 0.9, weightDecay: 0.1), .adamW8bit()] {
            func run(_ scaleInside: Bool) throws -> [String: [Float]] {
                let params = start.mapValues { Parameter($0) }
                let named = params.keys.sorted().map { ($0, params[$0]!) }
                let optimizer = Optimizer(kind)
                for _ in 0..<2 {
                    if scaleInside {
                        optimizer.update(named, gradients: grads, learningRate: 1e-2, gradientScale: 0.3)
                    } else {
                        optimizer.update(named, gradients: grads.mapValues { $0 * 0.3 }, learningRate: 1e-2)
                    }
                }
                return params.mapValues { $0.value.scalars }
            }
            XCTAssertEqual(try run(true), try run(false), "\(kind)")
        }
    }

    func testOptimizerSettingsOutsideTheirRangeAreTypedErrors() throws {
        let bad: [OptimizerKind] = [.adamW8bit(beta1: 1), .adamW(beta2: -0.1), .adamW8bit(epsilon: -1), .adamW(weightDecay: .nan),
                                    .sgd(momentum: -0.5), .sgd(weightDecay: .infinity)]
        for kind in bad {
            XCTAssertThrowsError(try TrainingConfiguration(maxSteps: 1, optimizer: kind).validate(), "\(kind)") {
                guard case .invalidConfiguration = $0 as? TrainingError else { return XCTFail("\(kind): \($0)") }
            }
        }
        XCTAssertNoThrow(try TrainingConfiguration(maxSteps: 1, optimizer: .adamW8bit(weightDecay: 0)).validate())
    }

    func testResumedRunEqualsUninterruptedOne() throws {
        let straight = try model()
        _ = try Trainer(model: straight, configuration: configuration(steps: 4, saveEvery: 2)).fit(train: FixedBatches(batches()))
        let resumed = try model()
        let checkpoint = dir.appendingPathComponent("checkpoint-2")
        _ = try Trainer(model: resumed, configuration: configuration(steps: 4)).fit(train: FixedBatches(batches()), resumingFrom: checkpoint)
        XCTAssertEqual(values(resumed), values(straight))
    }

    func testTamperedEightBitStateIsRefused() throws {
        _ = try Trainer(model: try model(), configuration: configuration(steps: 2, saveEvery: 2)).fit(train: FixedBatches(batches()))
        let checkpoint = dir.appendingPathComponent("checkpoint-2"), url = checkpoint.appendingPathComponent("optimizer.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        var original: [String: Tensor] = [:]
        for name in file.tensorNames { original[name] = try file.tensor(named: name) }
        let code = "state1.model.embed_tokens.weight"
        let cases: [(String, (inout [String: Tensor]) throws -> Void)] = [
            ("a code outside 0…255", { t in var v = t[code]!.scalars; v[5] = 300; t[code] = try Tensor(shape: [v.count], values: v) }),
            ("a fractional code", { t in var v = t[code]!.scalars; v[0] = 1.5; t[code] = try Tensor(shape: [v.count], values: v) }),
            ("a missing absmax", { t in t["absmax1.model.embed_tokens.weight"] = nil }),
            ("a negative absmax", { t in t["absmax2.lm_head.weight"] = Tensor.full([t["absmax2.lm_head.weight"]!.count], -1) }),
            ("short codes", { t in t[code] = Tensor.zeros([10]) }),
            ("8-bit state for a small parameter", { t in t["state1.model.norm.weight"] = Tensor.zeros([64]) }),
        ]
        for (label, change) in cases {
            var tensors = original
            try change(&tensors)
            try SafetensorsWriter.write(tensors, to: url)
            let trainer = try Trainer(model: try model(), configuration: configuration(steps: 4))
            XCTAssertThrowsError(try trainer.restore(from: checkpoint), label) { error in
                guard case .badCheckpoint = error as? TrainingError else { return XCTFail("\(label): \(error)") }
            }
            XCTAssertEqual(trainer.optimizer.step, 0, "\(label): nothing restored")
        }
    }
}
