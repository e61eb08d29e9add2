import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// The trainer's data-parallel hook, with replicas as threads of this process (``ThreadGroup``):
/// N replicas accumulating k micro-batches each take the same steps — losses, terms, evaluations
/// and final weights — as one process accumulating N·k, for every kind of trainable parameter.
final class DataParallelTrainerTests: XCTestCase {
    /// What a run produced, comparable across processes.
    struct Outcome: Sendable {
        var losses: [Float]
        var terms: [[String: Float]]
        var evaluations: [Float]
        var weights: [Float]
    }

    enum Method: Sendable {
        case lora, ia3, prefix, full, qlora, loraWithPenalty
    }

    /// Random rows for the tiny Llama (vocabulary 96), with different numbers of targets each.
    static func batches(count: Int, seed: UInt64) -> [TrainingBatch] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { i in
            let ids = (0..<10).map { _ in Int(rng.next() % 96) }
            var labels = Array(ids.dropFirst()) + [TokenizedExample.ignoreIndex]
            for t in 0..<(i % 4) { labels[t] = TokenizedExample.ignoreIndex }  // prompt-like positions without targets
            return TrainingBatch(inputIDs: ids, labels: labels, batchSize: 1)
        }
    }

    static func train(_ method: Method, accumulation: Int, epochs: Int, microBatches: Int,
                      communicator: any TrainingCommunicator) throws -> Outcome {
        let folder = Fixtures.tinyModel("llama")
        let model = method == .qlora ? try LanguageModel.loadModel(from: folder, quantize: .nf4)
                                     : try LanguageModel.loadModel(from: folder)
        let lora = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"]), initialization: .gaussian)
        switch method {
        case .lora, .qlora, .loraWithPenalty: try Adapters.apply(lora, to: model, seed: 3)
        case .ia3: try Adapters.apply(IA3Configuration(), to: model, seed: 3)
        case .prefix: try Adapters.apply(PrefixTuningConfiguration(virtualTokenCount: 3), to: model, seed: 3)
        case .full:
            model.setTrainable(false)
            try TrainableLayers.all.apply(to: model)
        }
        let objective: any TrainingObjective = method == .loraWithPenalty
            ? try WeightedObjective([(1, CrossEntropyObjective()), (0.5, L2SPObjective(lambda: 0.3))])
            : CrossEntropyObjective()
        let config = TrainingConfiguration(epochs: epochs, gradientAccumulationSteps: accumulation, learningRate: 2e-2,
                                           warmupSteps: 1, evaluateEvery: 2, seed: 11)
        let trainer = try Trainer(model: model, configuration: config, objective: objective, communicator: communicator)
        let history = try trainer.fit(train: FixedBatches(batches(count: microBatches, seed: 5)),
                                      eval: FixedBatches(batches(count: 3, seed: 6)))
        return Outcome(losses: history.steps.map(\.loss), terms: history.steps.map(\.terms),
                       evaluations: history.evaluations.map(\.loss),
                       weights: trainer.trainableParameters.flatMap { $0.parameter.value.scalars })
    }

    /// Runs `method` on `replicas` threads with `k` micro-batches each and in one process with
    /// `replicas·k`, and compares.
    func assertEquivalent(_ method: Method, replicas: Int = 2, k: Int = 1, epochs: Int = 2, microBatches: Int = 5,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs Synchronization.Mutex") }
        let single = try Self.train(method, accumulation: replicas * k, epochs: epochs, microBatches: microBatches,
                                    communicator: SingleProcess())
        let parallel = try ThreadGroup(size: replicas).run { _, replica in
            try Self.train(method, accumulation: k, epochs: epochs, microBatches: microBatches, communicator: replica)
        }
        XCTAssertEqual(single.losses.count, (epochs * microBatches + replicas * k - 1) / (replicas * k), file: file, line: line)
        for (rank, outcome) in parallel.enumerated() {
            XCTAssertEqual(outcome.losses.count, single.losses.count, "rank \(rank)", file: file, line: line)
            XCTAssertLessThan(maxRelativeError(outcome.losses, single.losses, floor: 1e-6), 1e-5, "rank \(rank) losses", file: file, line: line)
            XCTAssertLessThan(maxRelativeError(outcome.evaluations, single.evaluations, floor: 1e-6), 1e-5, "rank \(rank) eval", file: file, line: line)
            XCTAssertLessThan(maxRelativeError(outcome.weights, single.weights, floor: 1e-3), 1e-5, "rank \(rank) weights", file: file, line: line)
            XCTAssertEqual(outcome.terms.map { Set($0.keys) }, single.terms.map { Set($0.keys) }, file: file, line: line)
            for (a, b) in zip(outcome.terms, single.terms) {
                for (name, value) in b { XCTAssertEqual(a[name] ?? .nan, value, accuracy: 1e-5 * max(1, abs(value)), name, file: file, line: line) }
            }
            // Every replica ends with the same weights, bit for bit.
            XCTAssertEqual(outcome.weights, parallel[0].weights, "rank \(rank) drifted from rank 0", file: file, line: line)
        }
    }

    /// 5 micro-batches per epoch on 2 replicas: every epoch ends with a step where rank 1 has nothing.
    func testLoRAOnTwoReplicasEqualsDoubledAccumulation() throws { try assertEquivalent(.lora) }

    func testThreeReplicasWithTwoMicroBatchesEach() throws { try assertEquivalent(.lora, replicas: 3, k: 2, epochs: 3, microBatches: 7) }

    func testIA3() throws { try assertEquivalent(.ia3) }

    func testPrefixTuning() throws { try assertEquivalent(.prefix) }

    func testFullFineTuning() throws { try assertEquivalent(.full) }

    func testQLoRAOnAnNF4Base() throws { try assertEquivalent(.qlora) }

    /// A composite objective: per-step penalty terms scale by the step share over all replicas,
    /// and every term is summed over them.
    func testCompositeObjectiveTerms() throws { try assertEquivalent(.loraWithPenalty) }

    /// Fewer micro-batches than replicas in the first step: rank 2 computes nothing, learns the
    /// objective's term names from the others, and still takes part in every sum.
    func testARankWithoutMicroBatchesInItsFirstStep() throws {
        try assertEquivalent(.loraWithPenalty, replicas: 3, k: 1, epochs: 1, microBatches: 2)
    }

    /// Replicas that load different weights stop before the first step, all with the same error.
    func testReplicasWithDifferentWeightsRefuseToTrain() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs Synchronization.Mutex") }
        let errors = try ThreadGroup(size: 2).run { rank, replica -> String in
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
            try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"]), initialization: .gaussian),
                               to: model, seed: UInt64(rank))  // a different seed on each rank
            let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 2), communicator: replica)
            do {
                _ = try trainer.fit(train: FixedBatches(Self.batches(count: 4, seed: 1)))
                return "trained"
            } catch {
                return "\(error)"
            }
        }
        for e in errors { XCTAssertTrue(e.contains("disagree on the trainable parameters"), e) }
    }

    /// A host that stops on one replica stops every replica after the same step.
    func testStopOnOneReplicaStopsAll() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs Synchronization.Mutex") }
        let steps = try ThreadGroup(size: 2).run { rank, replica -> Int in
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
            try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"])), to: model, seed: 1)
            let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 6), communicator: replica)
            let history = try trainer.fit(train: FixedBatches(Self.batches(count: 4, seed: 1))) { event in
                if rank == 1, case .step(let s) = event, s.step == 2 { return .stop }
                return .proceed
            }
            XCTAssertEqual(history.stopReason, "stopped by host")
            return history.steps.count
        }
        XCTAssertEqual(steps, [2, 2])
    }

    /// Only rank 0 writes checkpoints; resuming every rank from it continues the same trajectory.
    func testRankZeroCheckpointsAndEveryRankResumes() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs Synchronization.Mutex") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-dp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.path
        @Sendable func run(_ replica: ThreadReplica, resume: Bool) throws -> (values: [Float], checkpoints: Int) {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
            try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj", "v_proj"])), to: model, seed: resume ? 99 : 1)
            let config = TrainingConfiguration(maxSteps: 4, learningRate: 1e-2, saveEvery: 2, checkpointDirectory: path)
            let trainer = try Trainer(model: model, configuration: config, communicator: replica)
            let checkpoint = resume ? URL(fileURLWithPath: path).appendingPathComponent("checkpoint-2") : nil
            var checkpoints = 0
            let history = try trainer.fit(train: FixedBatches(Self.batches(count: 6, seed: 2)), resumingFrom: checkpoint) { event in
                if case .checkpoint = event { checkpoints += 1 }
                return .proceed
            }
            return (history.steps.suffix(2).map(\.loss) + trainer.trainableParameters.flatMap { $0.parameter.value.scalars }, checkpoints)
        }
        let first = try ThreadGroup(size: 2).run { _, replica in try run(replica, resume: false) }
        let written = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        XCTAssertEqual(written, ["checkpoint-2", "checkpoint-4"])
        XCTAssertEqual(first.map(\.checkpoints), [2, 0])
        let resumed = try ThreadGroup(size: 2).run { _, replica in try run(replica, resume: true) }
        XCTAssertEqual(resumed[0].values, first[0].values)
        XCTAssertEqual(resumed[1].values, first[1].values)
    }
}
