import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// A tampered or foreign checkpoint is a `TrainingError.badCheckpoint`, checked before any state
/// changes; in particular optimizer moments must match the parameters they belong to.
final class CheckpointValidationTests: XCTestCase {
    private var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ckpt-bad-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func batches() -> [TrainingBatch] {
        var rng = SeededRandom(seed: 11)
        return (0..<2).map { _ in
            let ids = (0..<10).map { _ in Int(rng.next() % 96) }
            return TrainingBatch(inputIDs: ids, labels: ids, batchSize: 1)
        }
    }

    /// A trainer on the tiny Llama with LoRA on q/v, and a checkpoint it wrote after 2 steps.
    private func trainerAndCheckpoint(_ optimizer: OptimizerKind = .adamW()) throws -> (Trainer, URL) {
        let config = TrainingConfiguration(maxSteps: 2, learningRate: 1e-3, optimizer: optimizer)
        func make() throws -> Trainer {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
            try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj", "v_proj"])), to: model, seed: 3)
            return try Trainer(model: model, configuration: config)
        }
        let first = try make()
        _ = try first.fit(train: FixedBatches(batches()))
        return (try make(), try first.saveCheckpoint(in: dir))
    }

    private func assertBadCheckpoint(_ trainer: Trainer, _ checkpoint: URL, _ message: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try trainer.restore(from: checkpoint), message, file: file, line: line) { error in
            guard case .badCheckpoint = error as? TrainingError else {
                return XCTFail("\(message): \(error)", file: file, line: line)
            }
        }
    }

    private func rewriteOptimizer(_ checkpoint: URL, _ change: (inout [String: Tensor]) throws -> Void) throws {
        let url = checkpoint.appendingPathComponent("optimizer.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        var tensors: [String: Tensor] = [:]
        for name in file.tensorNames { tensors[name] = try file.tensor(named: name) }
        try change(&tensors)
        try SafetensorsWriter.write(tensors, to: url)
    }

    func testIntactCheckpointRestores() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint()
        XCTAssertNoThrow(try trainer.restore(from: checkpoint))
    }

    func testShortMomentIsRefused() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint()
        try rewriteOptimizer(checkpoint) { t in
            let key = try XCTUnwrap(t.keys.sorted().first { $0.hasPrefix("second.") })
            t[key] = try Tensor(shape: [3], values: [1, 2, 3])
        }
        assertBadCheckpoint(trainer, checkpoint, "a moment shorter than its parameter")
    }

    func testLongMomentIsRefused() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint(.sgd())
        try rewriteOptimizer(checkpoint) { t in
            let key = try XCTUnwrap(t.keys.sorted().first { $0.hasPrefix("first.") })
            t[key] = Tensor.full([t[key]!.count * 2], 1)
        }
        assertBadCheckpoint(trainer, checkpoint, "a moment longer than its parameter")
    }

    func testForeignMomentNamesAreRefused() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint()
        try rewriteOptimizer(checkpoint) { t in t["first.not.a.parameter"] = Tensor.full([4], 0) }
        assertBadCheckpoint(trainer, checkpoint, "a moment of no parameter")
        try rewriteOptimizer(checkpoint) { t in
            t["first.not.a.parameter"] = nil
            t["junk"] = Tensor.full([4], 0)
        }
        assertBadCheckpoint(trainer, checkpoint, "a tensor that is no moment")
    }

    func testHalfAMomentPairIsRefused() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint()
        try rewriteOptimizer(checkpoint) { t in
            let key = try XCTUnwrap(t.keys.sorted().first { $0.hasPrefix("second.") })
            t[key] = nil
        }
        assertBadCheckpoint(trainer, checkpoint, "an AdamW parameter with only its first moment")
    }

    func testTruncatedAndGarbageFilesAreRefused() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint()
        let url = checkpoint.appendingPathComponent("optimizer.safetensors")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        assertBadCheckpoint(trainer, checkpoint, "a truncated optimizer file")
        try Data("not a safetensors file at all".utf8).write(to: url)
        assertBadCheckpoint(trainer, checkpoint, "a garbage optimizer file")
        try FileManager.default.removeItem(at: url)
        assertBadCheckpoint(trainer, checkpoint, "a missing optimizer file")
    }

    func testWrongParameterShapeAndNegativeCursorAreRefused() throws {
        let (trainer, checkpoint) = try trainerAndCheckpoint()
        let params = checkpoint.appendingPathComponent("trainable.safetensors")
        let file = try SafetensorsFile(contentsOf: params)
        var tensors: [String: Tensor] = [:]
        for name in file.tensorNames { tensors[name] = try file.tensor(named: name) }
        let original = tensors
        let key = try XCTUnwrap(tensors.keys.sorted().first)
        tensors[key] = Tensor.full([1, tensors[key]!.count], 0)
        try SafetensorsWriter.write(tensors, to: params)
        assertBadCheckpoint(trainer, checkpoint, "a parameter of another shape")
        try SafetensorsWriter.write(original, to: params)

        let stateURL = checkpoint.appendingPathComponent("trainer_state.json")
        var state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        var cursor = try XCTUnwrap(state["cursor"] as? [String: Any])
        cursor["index"] = -5
        state["cursor"] = cursor
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL)
        assertBadCheckpoint(trainer, checkpoint, "a negative data cursor")
    }
}
