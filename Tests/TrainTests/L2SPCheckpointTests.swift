import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// L2-SP's start point travels in checkpoints, so a resumed run keeps pulling towards the original
/// anchor even when the resuming process starts from other values.
final class L2SPCheckpointTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-l2sp-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func batches() -> [TrainingBatch] {
        var rng = SeededRandom(seed: 21)
        return (0..<3).map { _ in
            let ids = (0..<10).map { _ in Int(rng.next() % 96) }
            return TrainingBatch(inputIDs: ids, labels: ids, batchSize: 1)
        }
    }

    private func model(seed: UInt64) throws -> any CausalLanguageModel {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj", "v_proj"]), initialization: .gaussian),
                           to: model, seed: seed)
        return model
    }

    func testResumedRunKeepsTheOriginalStartPoint() throws {
        let config = TrainingConfiguration(maxSteps: 6, learningRate: 2e-2, decay: .constant, saveEvery: 3, checkpointDirectory: dir.path)
        let data = FixedBatches(batches())
        let objective = { try WeightedObjective([(1, CrossEntropyObjective()), (1, L2SPObjective(lambda: 5))]) }

        let first = try model(seed: 1)
        let original = L2SPObjective(lambda: 5)
        let uninterrupted = try Trainer(model: first, configuration: config,
                                        objective: try WeightedObjective([(1, CrossEntropyObjective()), (1, original)])).fit(train: data)
        let checkpoint = dir.appendingPathComponent("checkpoint-3")
        let saved = try SafetensorsFile(contentsOf: checkpoint.appendingPathComponent("objective.safetensors"))
        XCTAssertEqual(Set(saved.tensorNames), Set(original.startPoint.keys.map { "l2sp.\($0)" }))

        // Another process, another initialisation: the checkpoint supplies both the values and the anchor.
        let other = try model(seed: 2)
        let resumedObjective = try objective()
        let resumed = try Trainer(model: other, configuration: config, objective: resumedObjective)
            .fit(train: data, resumingFrom: checkpoint)
        XCTAssertEqual(resumed.steps.count, 6)
        for (a, b) in zip(resumed.steps.suffix(3), uninterrupted.steps.suffix(3)) {
            XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6, "step \(a.step)")
            XCTAssertEqual(a.terms["l2sp"] ?? -1, b.terms["l2sp"] ?? -2, accuracy: 1e-7, "step \(a.step)")
        }
        let anchor = try XCTUnwrap(resumedObjective.terms[1].objective as? L2SPObjective).startPoint
        for (path, value) in original.startPoint { XCTAssertEqual(anchor[path]?.scalars, value.scalars, path) }

        // Without the file the resumed run anchors at its own start, and the penalty differs.
        try FileManager.default.removeItem(at: checkpoint.appendingPathComponent("objective.safetensors"))
        let unanchored = try Trainer(model: try model(seed: 2), configuration: config, objective: try objective())
            .fit(train: data, resumingFrom: checkpoint)
        XCTAssertNotEqual(unanchored.steps[3].terms["l2sp"] ?? 0, uninterrupted.steps[3].terms["l2sp"] ?? 0, accuracy: 1e-6)
    }

    func testAStartPointForOtherParametersIsABadCheckpoint() throws {
        let objective = L2SPObjective(lambda: 1)
        let m = try model(seed: 1)
        _ = try Trainer(model: m, configuration: TrainingConfiguration(maxSteps: 1), objective: objective)
        var tensors = objective.checkpointTensors()
        let key = try XCTUnwrap(tensors.keys.sorted().first)
        tensors[key] = Tensor.zeros([1, 1])
        XCTAssertThrowsError(try objective.restore(checkpointTensors: tensors)) {
            guard case .parameterMismatch(let name, _) = $0 as? ObjectiveError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, key)
        }
        tensors = objective.checkpointTensors()
        tensors["model.unknown"] = Tensor.zeros([1])
        XCTAssertThrowsError(try objective.restore(checkpointTensors: tensors))
        XCTAssertEqual(objective.checkpointTensors().count, tensors.count - 1, "a failed restore changes nothing")
    }
}
