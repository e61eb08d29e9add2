import Foundation
import Model
import TestSupport
import Train
import XCTest

/// `tailor eval --general-text` and `tailor-finetune-demo` report perplexity on general text
/// through the library's evaluator, before and after fine-tuning, for each objective.
final class ForgettingCLITests: XCTestCase {
    private let fixtures = Fixtures.url("GenerateTests", "cli")
    private let root = Fixtures.testsRoot.deletingLastPathComponent()
    private var general: String { root.appendingPathComponent("Examples/Data/general/general.txt").path }
    private var model: String { fixtures.appendingPathComponent("tiny-qwen2").path }
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-forgetting-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    private func run(_ product: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try BuiltProducts.executable(product)
        process.arguments = arguments
        process.currentDirectoryURL = root
        // Standard error goes to a file so that neither stream can fill a pipe and block the process.
        let errURL = scratch.appendingPathComponent("stderr-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        defer { try? err.close() }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// The last line of standard output that is a JSON object.
    private func json(_ stdout: String) throws -> [String: Any] {
        let line = try XCTUnwrap(stdout.split(separator: "\n").last { $0.hasPrefix("{") }, stdout)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    private func libraryPerplexity(window: Int, batchSize: Int) throws -> Double {
        let (m, tokenizer) = try LanguageModel.load(from: URL(fileURLWithPath: model))
        let text = try String(contentsOfFile: general, encoding: .utf8)
        return try TeacherForcedEvaluator.evaluate(m, text: text, tokenizer: tokenizer, window: window, batchSize: batchSize).perplexity
    }

    func testEvalReportsGeneralPerplexityAndTheBaseWithTheAdapterOff() throws {
        let data = ["--data", fixtures.appendingPathComponent("eval-alpaca.jsonl").path, "--no-generate", "--json",
                    "--general-text", general, "--general-window", "64"]
        let plain = try run("tailor", ["eval", "--model", model] + data)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let base = try json(plain.stdout)
        let ppl = try XCTUnwrap(base["general_perplexity"] as? Double)
        XCTAssertEqual(ppl, try libraryPerplexity(window: 64, batchSize: 8), accuracy: 1e-9 * ppl)
        XCTAssertNil(base["general_base_perplexity"], "no adapter, no base comparison")

        let tuned = try run("tailor", ["eval", "--model", model, "--adapter", fixtures.appendingPathComponent("adapter").path] + data)
        XCTAssertEqual(tuned.status, 0, tuned.stderr)
        let adapted = try json(tuned.stdout)
        let withAdapter = try XCTUnwrap(adapted["general_perplexity"] as? Double)
        let adapterOff = try XCTUnwrap(adapted["general_base_perplexity"] as? Double)
        XCTAssertEqual(adapterOff, ppl, accuracy: 1e-9 * ppl, "the adapter switched off is the base")
        XCTAssertNotEqual(withAdapter, ppl, accuracy: 1e-6 * ppl, "the adapter changes the general perplexity")

        let missing = try run("tailor", ["eval", "--model", model, "--data", fixtures.appendingPathComponent("eval-alpaca.jsonl").path,
                                         "--no-generate", "--general-text", scratch.appendingPathComponent("none.txt").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no general-text file"), missing.stderr)
    }

    /// One demo run on the tiny model: JSON summary.
    private func demo(_ objective: String, _ extra: [String] = []) throws -> [String: Any] {
        let result = try run("tailor-finetune-demo", ["--model", model, "--data", root.appendingPathComponent("Examples/Data/sku").path,
                                                      "--output", scratch.appendingPathComponent(objective).path, "--eval-limit", "2",
                                                      "--batch-size", "16", "--learning-rate", "5e-3", "--rank", "4",
                                                      "--general-window", "128", "--objective", objective] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try json(result.stdout)
    }

    func testDemoMeasuresGeneralPerplexityBeforeAndAfterForEachObjective() throws {
        let reference = try libraryPerplexity(window: 128, batchSize: 4)
        var after: [String: Double] = [:]
        for (objective, extra) in [("ce", []), ("kl-base", ["--kl-weight", "20"]), ("ewc", ["--ewc-lambda", "1e6", "--ewc-batches", "4"])] {
            let summary = try demo(objective, extra)
            XCTAssertEqual(summary["objective"] as? String, objective)
            let before = try XCTUnwrap((summary["before"] as? [String: Any])?["general_perplexity"] as? Double)
            let tuned = try XCTUnwrap((summary["after"] as? [String: Any])?["general_perplexity"] as? Double)
            XCTAssertEqual(before, reference, accuracy: 1e-4 * reference, "\(objective): the base is scored like the library scores it")
            XCTAssertNotEqual(tuned, before, accuracy: 1e-4 * before, "\(objective): training changed the model")
            after[objective] = tuned
        }
        // Holding the model to the base (KL) or to the parameters that matter for general text (EWC)
        // keeps its general perplexity closer to the base's than the task loss alone.
        let ce = try XCTUnwrap(after["ce"]), kl = try XCTUnwrap(after["kl-base"]), ewc = try XCTUnwrap(after["ewc"])
        XCTAssertLessThan(abs(kl - reference), abs(ce - reference), "ce \(ce), kl-base \(kl), base \(reference)")
        XCTAssertLessThan(abs(ewc - reference), abs(ce - reference), "ce \(ce), ewc \(ewc), base \(reference)")
    }

    func testAugmentWritesReviewableParaphrasesReproduciblyWithASeed() throws {
        func augment(_ seed: String, _ name: String) throws -> String {
            let out = scratch.appendingPathComponent(name).path
            let result = try run("tailor", ["augment", "--model", model, "--data", fixtures.appendingPathComponent("train.jsonl").path,
                                            "--output", out, "--limit", "3", "--paraphrases", "2", "--max-tokens", "12", "--seed", seed,
                                            "--min-length-ratio", "0", "--max-length-ratio", "1000"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stderr.contains("paraphrases kept"), result.stderr)
            return try String(contentsOfFile: out, encoding: .utf8)
        }
        let a = try augment("3", "a.jsonl"), b = try augment("3", "b.jsonl"), c = try augment("4", "c.jsonl")
        XCTAssertEqual(a, b, "the same seed gives the same file")
        XCTAssertNotEqual(a, c)
        let read = try JSONLReader.read(string: a)
        XCTAssertFalse(read.records.isEmpty)
        XCTAssertTrue(read.malformed.isEmpty, "the file trains as it is")
        for line in a.split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertTrue([1, 2, 3].contains(object["augmented_from"] as? Int ?? 0), "source line numbers")
            XCTAssertNotNil(object["original"])
        }
        let bad = try run("tailor", ["augment", "--model", model, "--data", fixtures.appendingPathComponent("train.jsonl").path,
                                     "--output", scratch.appendingPathComponent("x.jsonl").path, "--fields", "output"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }

    func testDemoRefusesKLToTheBaseWithoutAnAdapter() throws {
        let result = try run("tailor-finetune-demo", ["--model", model, "--objective", "kl-base", "--method", "full"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("kl-base needs an adapter method"), result.stderr)
    }
}
