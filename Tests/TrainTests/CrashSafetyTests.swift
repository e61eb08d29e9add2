import Foundation
import Model
import PEFT
import TestSupport
import Tensor
import Train
import XCTest

/// `tailor finetune` killed with SIGKILL at random moments (often inside a checkpoint write, since
/// it checkpoints every step) and resumed from its newest checkpoint each time: every checkpoint
/// left behind is complete and loadable, and the finished run's losses equal an uninterrupted run's.
final class CrashSafetyTests: XCTestCase {
    private let fixtures = Fixtures.url("GenerateTests", "cli")
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    private func arguments(output: URL, checkpoints: URL, resume: URL?) -> [String] {
        ["finetune", "--model", fixtures.appendingPathComponent("tiny-qwen2").path, "--data", fixtures.appendingPathComponent("train.jsonl").path,
         "--output", output.path, "--max-steps", "12", "--batch-size", "2", "--lr", "5e-3", "--save-every", "1",
         "--checkpoint-dir", checkpoints.path] + (resume.map { ["--resume", $0.path] } ?? [])
    }

    /// Starts `tailor` with `arguments`; kills it after `killAfter` seconds unless it ends first.
    /// Returns the exit status, or nil when it was killed.
    private func run(_ arguments: [String], killAfter: Double? = nil) throws -> Int32? {
        let process = Process()
        process.executableURL = try BuiltProducts.executable("tailor")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let killAfter {
            let deadline = Date().addingTimeInterval(killAfter)
            while process.isRunning && Date() < deadline { usleep(2_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func losses(_ output: URL) throws -> [Float] {
        try JSONDecoder().decode(TrainingHistory.self, from: Data(contentsOf: output.appendingPathComponent("history.json"))).steps.map(\.loss)
    }

    /// Complete checkpoints by step; fails the test when one cannot be restored.
    private func checkCheckpoints(_ folder: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [Int: URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var found: [Int: URL] = [:]
        for name in names where name.hasPrefix("checkpoint-") {
            guard let step = Int(name.dropFirst("checkpoint-".count)) else { XCTFail("odd entry \(name)", file: file, line: line); continue }
            let url = folder.appendingPathComponent(name)
            let model = try LanguageModel.loadModel(from: fixtures.appendingPathComponent("tiny-qwen2"))
            try Adapters.apply(LoRAConfiguration(), to: model, seed: 42)
            let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 12))
            XCTAssertNoThrow(try trainer.restore(from: url), "\(name) is not restorable", file: file, line: line)
            found[step] = url
        }
        // Anything else may only be a hidden temporary folder of an interrupted write.
        for name in names where !name.hasPrefix("checkpoint-") {
            XCTAssertTrue(name.hasPrefix(".checkpoint-") && name.contains(".tmp-"), "unexpected \(name)", file: file, line: line)
        }
        return found
    }

    func testKilledAndResumedTrainingEqualsAnUninterruptedRun() throws {
        let reference = scratch.appendingPathComponent("reference")
        let start = Date()
        XCTAssertEqual(try run(arguments(output: reference, checkpoints: scratch.appendingPathComponent("reference-ckpt"), resume: nil)), 0)
        let fullRun = Date().timeIntervalSince(start)
        let expected = try losses(reference)
        XCTAssertEqual(expected.count, 12)

        // Rounds of kill-and-resume until at least 20 kills; each round must end with the reference losses.
        var rng = SeededRandom(seed: 2026)
        var kills = 0, rounds = 0
        // The number of rounds is bounded but generous, so a fast machine (where more runs finish
        // before their kill) still reaches 20 kills.
        while kills < 20 && rounds < 40 {
            rounds += 1
            let output = scratch.appendingPathComponent("killed-\(rounds)"), checkpoints = scratch.appendingPathComponent("killed-\(rounds)-ckpt")
            var finished = false
            // Up to five runs killed at random moments, then one left to finish, each resuming from
            // the newest checkpoint.
            for attempt in 0..<6 where !finished {
                let newest = try checkCheckpoints(checkpoints).max { $0.key < $1.key }
                let delay = attempt < 5 ? Double.random(in: 0.02...max(0.05, fullRun * 0.6), using: &rng) : nil
                switch try run(arguments(output: output, checkpoints: checkpoints, resume: newest?.value), killAfter: delay) {
                case nil: kills += 1
                case let status?:
                    XCTAssertEqual(status, 0)
                    finished = true
                }
            }
            XCTAssertTrue(finished, "round \(rounds) never finished")
            _ = try checkCheckpoints(checkpoints)
            XCTAssertEqual(try losses(output), expected, "round \(rounds): resumed losses equal the uninterrupted run's")
        }
        XCTAssertGreaterThanOrEqual(kills, 20)
    }
}
