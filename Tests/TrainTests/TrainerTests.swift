import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

final class TrainerTests: XCTestCase {
    private struct Run: Decodable {
        let input_ids: [[Int]]
        let labels: [[Int]]
        let losses: [Float]
        let lr: Float
        let weight_decay: Float
        let max_grad_norm: Float
    }

    /// A batch with Hugging Face's labels as they are: Tailor uses the same (unshifted) convention.
    private func batch(ids: [[Int]], hfLabels: [[Int]]) -> TrainingBatch {
        TrainingBatch(inputIDs: ids.flatMap { $0 }, labels: hfLabels.flatMap { $0 }, batchSize: ids.count)
    }

    private func tinyLlama() throws -> any CausalLanguageModel {
        try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
    }

    func testTenAdamWStepsMatchTorchAndPEFT() throws {
        let folder = Fixtures.url("TrainTests", "lora-parity")
        let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("run.json")))
        let model = try tinyLlama()
        try Adapters.load(from: folder.appendingPathComponent("initial-adapter"), into: model)
        Adapters.makeTrainable(in: model)
        let config = TrainingConfiguration(maxSteps: 10, learningRate: run.lr, decay: .constant,
                                           optimizer: .adamW(weightDecay: run.weight_decay), maxGradientNorm: run.max_grad_norm)
        let trainer = try Trainer(model: model, configuration: config)

        // Step-1 gradients against torch's.
        let b = batch(ids: run.input_ids, hfLabels: run.labels)
        let expected = try SafetensorsFile(contentsOf: folder.appendingPathComponent("step1-gradients.safetensors"))
        let grads = try trainer.gradients(of: b)
        XCTAssertEqual(grads.count, expected.tensorNames.count)
        for (path, layer) in model.adapterLayers(LoRALinear.self) {
            for (kind, p) in [("lora_A", layer.adapters["default"]!.a), ("lora_B", layer.adapters["default"]!.b)] {
                let key = "base_model.model.\(path).\(kind).weight"
                let name = "\(path).\(kind).default.weight"
                let want = try expected.tensor(named: key).scalars
                let got = try XCTUnwrap(grads[name], name).scalars
                let scale = want.map(abs).max() ?? 1
                XCTAssertLessThan(maxAbsoluteError(got, want) / scale, 1e-4, key)
                _ = p
            }
        }
        let history = try trainer.fit(train: FixedBatches([b]))
        XCTAssertEqual(history.steps.count, 10)
        for (record, want) in zip(history.steps, run.losses) {
            XCTAssertLessThan(abs(record.loss - want) / want, 1e-4, "step \(record.step): \(record.loss) vs torch \(want)")
        }
    }

    func testAccumulatingMicroBatchesEqualsOneLargeBatch() throws {
        // Two rows with different numbers of targets: per-token normalisation across micro-batches.
        let rowA: [Int] = [5, 9, 13, 2, 77, 41], rowB: [Int] = [8, 8, 30, 60, 1, 19]
        let labA: [Int] = [TokenizedExample.ignoreIndex, 9, 13, 2, 77, 41]
        let labB: [Int] = [TokenizedExample.ignoreIndex, TokenizedExample.ignoreIndex, TokenizedExample.ignoreIndex, 60, 1, TokenizedExample.ignoreIndex]
        func trained(accumulate: Bool) throws -> [Float] {
            let model = try tinyLlama()
            try Adapters.apply(LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"]), initialization: .gaussian),
                           to: model, seed: 1)
            let data: [TrainingBatch] = accumulate
                ? [TrainingBatch(inputIDs: rowA, labels: labA, batchSize: 1), TrainingBatch(inputIDs: rowB, labels: labB, batchSize: 1)]
                : [TrainingBatch(inputIDs: rowA + rowB, labels: labA + labB, batchSize: 2)]
            let trainer = try Trainer(model: model, configuration: TrainingConfiguration(
                maxSteps: 2, gradientAccumulationSteps: accumulate ? 2 : 1, learningRate: 1e-2, decay: .constant))
            let history = try trainer.fit(train: FixedBatches(data))
            return history.steps.map(\.loss) + model.namedParameters().filter { $0.parameter.isTrainable }.flatMap { $0.parameter.value.scalars }
        }
        let big = try trained(accumulate: false), small = try trained(accumulate: true)
        XCTAssertLessThan(maxAbsoluteError(small, big), 2e-6)
    }

    private func syntheticBatches() -> [TrainingBatch] {
        var rng = SeededRandom(seed: 4)
        return (0..<4).map { _ in
            let ids = (0..<12).map { _ in Int(rng.next() % 96) }
            return TrainingBatch(inputIDs: ids, labels: ids, batchSize: 1)
        }
    }

    func testResumingFromACheckpointContinuesTheSameTrajectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let lora = LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.1, targetModules: .names(["q_proj", "v_proj"]))
        let config = TrainingConfiguration(epochs: 3, learningRate: 5e-3, warmupSteps: 2, saveEvery: 5, checkpointDirectory: dir.path)
        let data = ShuffledBatches(items: syntheticBatches())

        let full = try tinyLlama()
        try Adapters.apply(lora, to: full, seed: 7)
        let uninterrupted = try Trainer(model: full, configuration: config).fit(train: data)
        XCTAssertEqual(uninterrupted.steps.count, 12)
        let checkpoint = dir.appendingPathComponent("checkpoint-5")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("trainer_state.json").path))

        let resumedModel = try tinyLlama()
        try Adapters.apply(lora, to: resumedModel, seed: 99)  // different init: the checkpoint must overwrite it
        let resumed = try Trainer(model: resumedModel, configuration: config).fit(train: data, resumingFrom: checkpoint)
        XCTAssertEqual(resumed.steps.count, 12)
        XCTAssertEqual(resumed.steps.suffix(7).map(\.loss), uninterrupted.steps.suffix(7).map(\.loss))
    }

    func testNaNLossStopsWithTheStep() throws {
        let model = try tinyLlama()
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"])), to: model)
        try model.parameter(at: "model.norm.weight").assign(Tensor.full([32], .nan))
        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 3))
        XCTAssertThrowsError(try trainer.fit(train: FixedBatches(syntheticBatches()))) {
            guard case .nonFiniteLoss(let step, _) = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertEqual(step, 1)
        }
    }

    func testEarlyStoppingEvaluationAndHostStop() throws {
        let model = try tinyLlama()
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"])), to: model)
        let data = FixedBatches(syntheticBatches())
        // An impossible min-delta: no evaluation counts as an improvement after the first.
        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(
            epochs: 10, learningRate: 1e-3, evaluateEvery: 1, earlyStoppingPatience: 2, earlyStoppingMinDelta: 100))
        let history = try trainer.fit(train: data, eval: data)
        XCTAssertEqual(history.stopReason, "early stopping")
        XCTAssertEqual(history.evaluations.count, 3, "the first sets the best, then two without improvement")
        XCTAssertEqual(history.evaluations[0].perplexity, exp(history.evaluations[0].loss), accuracy: 1e-3)

        var seen = 0
        let stopped = try Trainer(model: model, configuration: TrainingConfiguration(epochs: 10)).fit(train: data) { event in
            if case .step = event { seen += 1 }
            return seen == 3 ? .stop : .proceed
        }
        XCTAssertEqual(stopped.steps.count, 3)
        XCTAssertEqual(stopped.stopReason, "stopped by host")
    }

    /// Every schedule, step for step, against transformers' (Tools/make_objective_fixtures.py).
    func testSchedulesMatchTransformers() throws {
        struct Schedules: Decodable {
            struct Schedule: Decodable { let kind: String; let peak: Float; let warmup: Int; let total: Int; let rates: [Float]; let min_lr_rate: Float? }
            let schedules: [Schedule]
        }
        let file = try JSONDecoder().decode(Schedules.self, from: Data(contentsOf: Fixtures.url("TrainTests", "lr_schedules.json")))
        XCTAssertEqual(file.schedules.count, 9)
        for s in file.schedules {
            let decay: LearningRateDecay = s.kind == "linear" ? .linear : s.kind == "constant" ? .constant : .cosine
            let schedule = LearningRateSchedule(peak: s.peak, warmupSteps: s.warmup, totalSteps: s.total, decay: decay,
                                                minimumRatio: s.min_lr_rate ?? 0)
            // Steps 0…total: the trainer never goes beyond (transformers' cosine would rise again there).
            for step in 0...s.total {
                XCTAssertEqual(schedule.rate(at: step), s.rates[step], accuracy: 1e-7, "\(s.kind) warmup \(s.warmup) step \(step)")
            }
            if s.warmup > 0 { XCTAssertEqual(schedule.rate(at: 0), 0) }
        }
        let linear = LearningRateSchedule(peak: 2, totalSteps: 10, decay: .linear, minimumRatio: 0.1)
        XCTAssertEqual(linear.rate(at: 10), 0.2, accuracy: 1e-6, "a linear floor (Tailor's extension) ends at minimumRatio·peak")
    }

    func testConfigurationIsCodableAndValidated() throws {
        let config = TrainingConfiguration(epochs: 2, gradientAccumulationSteps: 4, learningRate: 3e-4, optimizer: .sgd(momentum: 0.8))
        let data = try JSONEncoder().encode(config)
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfiguration.self, from: data), config)
        XCTAssertThrowsError(try TrainingConfiguration(gradientAccumulationSteps: 0).validate())
        XCTAssertThrowsError(try TrainingConfiguration(saveEvery: 3).validate())
    }
}

/// Batches shuffled per epoch with the seed (tests resumption mid-epoch with a changing order).
struct ShuffledBatches: TrainingBatches {
    let items: [TrainingBatch]
    func batches(epoch: Int, seed: UInt64) -> [TrainingBatch] {
        var rng = SeededRandom(seed: seed &+ UInt64(epoch))
        return items.shuffled(using: &rng)
    }
}

extension TrainerTests {
    func testBadBatchesAreTypedErrors() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"])), to: model)
        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1))
        let outside = TrainingBatch(inputIDs: [1, 2, 3], labels: [TokenizedExample.ignoreIndex, 2, 96], batchSize: 1)
        XCTAssertThrowsError(try trainer.fit(train: FixedBatches([outside]))) {
            XCTAssertEqual($0 as? TrainingError, .invalidBatch("target 96 is outside the vocabulary (0..<96)"))
        }
        let misaligned = TrainingBatch(inputIDs: [1, 2, 3], labels: [2, 3], batchSize: 1)
        XCTAssertThrowsError(try trainer.fit(train: FixedBatches([misaligned])))
    }
}
