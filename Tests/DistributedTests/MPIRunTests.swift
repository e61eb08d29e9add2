import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// `tailor finetune` under `mpirun` on this machine (loopback), on the tiny Qwen2 of the CLI
/// fixtures: two ranks with one micro-batch each take the same steps as one process accumulating
/// two, every rank resumes from rank 0's checkpoint, and a rank that stalls or dies ends the job
/// with an error instead of a hang.
final class MPIRunTests: XCTestCase {
    private static let fixtures = Fixtures.url("GenerateTests", "cli")
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// `mpirun`, or a skip when Open MPI's launcher is not installed (Scripts/ensure-deps.sh installs it).
    private func mpirun() throws -> URL {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("mpirun is not installed (apt-get install openmpi-bin)")
    }

    /// Launcher flags for a test on one machine: as root (CI) Open MPI wants consent, more ranks
    /// than cores are fine, and shared memory without cross-process copies (containers forbid them).
    private func launch(ranks: Int) -> [String] {
        ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none"]
            + (getuid() == 0 ? ["--allow-run-as-root"] : [])
    }

    private var baseArguments: [String] {
        ["finetune", "--model", Self.fixtures.appendingPathComponent("tiny-qwen2").path,
         "--data", Self.fixtures.appendingPathComponent("train.jsonl").path,
         "--eval-data", Self.fixtures.appendingPathComponent("valid.jsonl").path,
         "--epochs", "2", "--batch-size", "2", "--rank", "2", "--lr", "1e-2", "--warmup-steps", "1",
         "--eval-every", "2", "--seed", "5"]
    }

    /// A running process whose output goes to files in the scratch folder.
    private final class Running {
        let process = Process()
        let stdout: URL, stderr: URL
        init(_ executable: URL, _ arguments: [String], in folder: URL) throws {
            let id = UUID().uuidString
            stdout = folder.appendingPathComponent("\(id).out")
            stderr = folder.appendingPathComponent("\(id).err")
            _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            process.executableURL = executable
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_NUM_THREADS"] = "1"
            process.environment = environment
            process.standardOutput = try FileHandle(forWritingTo: stdout)
            process.standardError = try FileHandle(forWritingTo: stderr)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        var errorText: String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }
        var outputText: String { (try? String(contentsOf: stdout, encoding: .utf8)) ?? "" }

        /// Waits for the exit, calling `tick` every 50 ms; a run still going after `limit` seconds is
        /// a hang: it is terminated and the test fails.
        func wait(limit: TimeInterval, tick: () -> Void = {}) -> Int32? {
            let deadline = Date().addingTimeInterval(limit)
            while process.isRunning && Date() < deadline {
                tick()
                usleep(50_000)
            }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }
    }

    private func run(_ arguments: [String], ranks: Int?) throws -> (status: Int32?, stdout: String, stderr: String) {
        let tailor = try BuiltProducts.executable("tailor")
        let process: Running
        if let ranks {
            process = try Running(try mpirun(), launch(ranks: ranks) + [tailor.path] + arguments, in: scratch)
        } else {
            process = try Running(tailor, arguments, in: scratch)
        }
        let status = process.wait(limit: 300)
        return (status, process.outputText, process.errorText)
    }

    private func history(_ folder: URL) throws -> (losses: [Double], evaluations: [Double]) {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("history.json"))) as? [String: Any])
        let steps = try XCTUnwrap(object["steps"] as? [[String: Any]]), evals = try XCTUnwrap(object["evaluations"] as? [[String: Any]])
        return (try steps.map { try XCTUnwrap($0["loss"] as? Double) }, try evals.map { try XCTUnwrap($0["loss"] as? Double) })
    }

    private func adapter(_ folder: URL) throws -> [String: [Float]] {
        let file = try SafetensorsFile(contentsOf: folder.appendingPathComponent("adapter_model.safetensors"))
        var out: [String: [Float]] = [:]
        for name in file.tensorNames { out[name] = try file.tensor(named: name).scalars }
        return out
    }

    private func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) / max(abs($1), 1e-6) }.max() ?? 0
    }

    func testTwoRanksEqualOneProcessWithDoubledAccumulation() throws {
        _ = try mpirun()
        let single = scratch.appendingPathComponent("single"), parallel = scratch.appendingPathComponent("parallel")
        let one = try run(baseArguments + ["--grad-accum", "2", "--output", single.path], ranks: nil)
        XCTAssertEqual(one.status, 0, one.stderr)
        let two = try run(baseArguments + ["--grad-accum", "1", "--output", parallel.path, "--save-every", "2"], ranks: 2)
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stderr.contains("data-parallel: rank 1 of 2"), two.stderr)
        // Only rank 0 reports.
        XCTAssertEqual(two.stdout.components(separatedBy: "trained ").count - 1, 1, two.stdout)

        let (a, b) = (try history(single), try history(parallel))
        XCTAssertGreaterThanOrEqual(a.losses.count, 4)  // 12 examples in batches of 2, 2 epochs, 2 micro-batches a step
        XCTAssertEqual(b.losses.count, a.losses.count)
        XCTAssertLessThan(relativeError(b.losses, a.losses), 1e-5, "\(b.losses) vs \(a.losses)")
        XCTAssertEqual(b.evaluations.count, 3)
        XCTAssertLessThan(relativeError(b.evaluations, a.evaluations), 1e-5, "\(b.evaluations) vs \(a.evaluations)")
        let (wa, wb) = (try adapter(single), try adapter(parallel))
        XCTAssertEqual(Set(wa.keys), Set(wb.keys))
        XCTAssertFalse(wa.isEmpty)
        for (name, w) in wa {
            XCTAssertLessThan(maxRelativeError(try XCTUnwrap(wb[name]), w, floor: 1e-3), 1e-5, name)
        }

        // Both ranks resume from rank 0's checkpoint and end where the uninterrupted run did.
        let resumed = scratch.appendingPathComponent("resumed")
        let checkpoint = parallel.appendingPathComponent("checkpoints/checkpoint-2").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint + "/trainer_state.json"))
        let again = try run(baseArguments + ["--grad-accum", "1", "--output", resumed.path, "--resume", checkpoint], ranks: 2)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try adapter(resumed), wb)
    }

    /// Starts a long two-rank run, waits for rank 1 to report its pid, and does `act` to it.
    private func disturbRankOne(timeout: Int, _ act: (pid_t) -> Void,
                                whileWaiting: (Running, pid_t) -> Void = { _, _ in }) throws -> (status: Int32?, stderr: String, stdout: String) {
        let tailor = try BuiltProducts.executable("tailor")
        let output = scratch.appendingPathComponent("long").path
        let running = try Running(try mpirun(), launch(ranks: 2) + [tailor.path] + baseArguments
                                  + ["--max-steps", "100000", "--output", output, "--collective-timeout", "\(timeout)"], in: scratch)
        var pid: pid_t?
        let deadline = Date().addingTimeInterval(120)
        while pid == nil && running.process.isRunning && Date() < deadline {
            if let line = running.errorText.split(separator: "\n").first(where: { $0.contains("rank 1 of 2 (pid ") }),
               let number = line.split(separator: "(pid ").last?.split(separator: ")").first {
                pid = pid_t(number)
            }
            usleep(20_000)
        }
        guard let pid else {
            _ = running.wait(limit: 1)
            XCTFail("rank 1 never reported its pid: \(running.errorText)")
            return (nil, running.errorText, running.outputText)
        }
        act(pid)
        let status = running.wait(limit: 120) { whileWaiting(running, pid) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }  // the rank this test stopped, if the launcher left it
        return (status, running.errorText, running.outputText)
    }

    func testAStalledRankMakesTheOthersFailWithATimeout() throws {
        let run = try disturbRankOne(timeout: 3, { kill($0, SIGSTOP) }, whileWaiting: { running, pid in
            // Once rank 0 has given up, the stopped rank is ended (the launcher cannot stop it while it is stopped).
            if running.errorText.contains("timed out") { kill(pid, SIGKILL) }
        })
        let status = try XCTUnwrap(run.status, "the job hung: \(run.stderr)")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(run.stderr.contains("error: rank 0:") && run.stderr.contains("timed out after 3 s"), run.stderr)
        XCTAssertFalse(run.stdout.contains("trained "))
    }

    func testADeadRankEndsTheJob() throws {
        let run = try disturbRankOne(timeout: 30, { kill($0, SIGKILL) })
        let status = try XCTUnwrap(run.status, "the job hung: \(run.stderr)")
        XCTAssertNotEqual(status, 0, run.stderr)
        XCTAssertFalse(run.stdout.contains("trained "))
    }
}
