import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// End-to-end tests of the `tailor` executable on a tiny Qwen2 with a real byte-level tokenizer
/// (Fixtures/cli, made by Tools/make_cli_fixtures.py). Eval numbers and greedy answers are compared
/// with transformers + peft + sacreBLEU + rouge-score; every subcommand also runs on bad input and
/// must fail with one `error:` line and a non-zero exit status, never a crash.
///
/// The executable is the one next to the test bundle, or built on demand (``BuiltProducts``).
final class CLITests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/cli")
    private var model: String { Self.fixtures.appendingPathComponent("tiny-qwen2").path }
    private var adapter: String { Self.fixtures.appendingPathComponent("adapter").path }
    private func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    private struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Runs `tailor` with `arguments`, optionally feeding `input` on standard input.
    private func tailor(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Run {
        let executable = try BuiltProducts.executable("tailor")
        let id = UUID().uuidString
        let out = scratch.appendingPathComponent("\(id).out"), err = scratch.appendingPathComponent("\(id).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                   stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// The run succeeded; returns its standard output.
    @discardableResult
    private func succeed(_ arguments: [String], input: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let run = try tailor(arguments, input: input)
        XCTAssertEqual(run.status, 0, "tailor \(arguments.joined(separator: " ")) failed: \(run.stderr)", file: file, line: line)
        return run.stdout
    }

    /// The run failed cleanly: non-zero status, nothing on standard output, and standard error ending
    /// in exactly one `error: …` line that contains `message` (earlier lines may only be progress).
    private func assertFails(_ arguments: [String], with message: String, status: Int32? = nil, environment: [String: String] = [:],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try tailor(arguments, environment: environment)
        XCTAssertNotEqual(run.status, 0, "expected a failure: tailor \(arguments.joined(separator: " "))", file: file, line: line)
        if let status { XCTAssertEqual(run.status, status, run.stderr, file: file, line: line) }
        XCTAssertEqual(run.stdout, "", file: file, line: line)
        let errors = run.stderrLines.filter { $0.lowercased().contains("error") || $0.contains("Fatal") || $0.contains("Stack") }
        XCTAssertEqual(errors.count, 1, "stderr: \(run.stderr)", file: file, line: line)
        let last = run.stderrLines.last ?? ""
        XCTAssertTrue(last.hasPrefix("error: "), "stderr: \(run.stderr)", file: file, line: line)
        XCTAssertTrue(last.contains(message), "expected '\(message)' in: \(last)", file: file, line: line)
    }

    private func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func json(_ text: String) throws -> [String: Any] {
        let line = try XCTUnwrap(text.split(separator: "\n").last { $0.hasPrefix("{") })
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    private func write(_ text: String, to name: String) throws -> String {
        let url = scratch.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    // MARK: - eval

    /// On a model with a short context, examples are truncated to it for scoring and answers stop at
    /// the limit (finish reason length) instead of failing the run.
    func testEvalStopsAtTheContextLimit() throws {
        let short = scratch.appendingPathComponent("short-context")
        try FileManager.default.copyItem(atPath: model, toPath: short.path)
        let configURL = short.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["max_position_embeddings"] = 48
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        for name in ["eval-alpaca.jsonl", "eval-chat.jsonl", "eval-completion.jsonl"] {
            let out = try json(try succeed(["eval", "--model", short.path, "--data", fixture(name), "--max-tokens", "200", "--json"]))
            let samples = try XCTUnwrap(out["samples"] as? [[String: Any]], name)
            XCTAssertEqual(samples.count, out["examples"] as? Int, name)
            XCTAssertNotNil(out["loss"] as? Double, name)
        }
    }

    /// Compares `tailor eval --json` with the reference numbers and greedy answers.
    private func checkEval(_ got: [String: Any], _ reference: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        func number(_ o: [String: Any], _ key: String) throws -> Double { try XCTUnwrap(o[key] as? Double ?? (o[key] as? Int).map(Double.init), key) }
        XCTAssertEqual(got["target_tokens"] as? Int, reference["target_tokens"] as? Int, file: file, line: line)
        let loss = try number(got, "loss"), refLoss = try number(reference, "loss")
        XCTAssertEqual(loss, refLoss, accuracy: 1e-4 * max(1, refLoss), "loss", file: file, line: line)
        XCTAssertEqual(try number(got, "perplexity"), try number(reference, "perplexity"),
                       accuracy: 2e-4 * (try number(reference, "perplexity")), "perplexity", file: file, line: line)
        XCTAssertEqual(try number(got, "token_accuracy"), try number(reference, "token_accuracy"), accuracy: 1e-9, file: file, line: line)
        let samples = try XCTUnwrap(got["samples"] as? [[String: Any]])
        XCTAssertEqual(samples.compactMap { $0["prediction"] as? String }, reference["predictions"] as? [String], file: file, line: line)
        XCTAssertEqual(samples.compactMap { $0["reference"] as? String }, reference["references"] as? [String], file: file, line: line)
        for key in ["exact_match", "rouge1", "rouge2", "rougeL"] {
            XCTAssertEqual(try number(got, key), try number(reference, key), accuracy: 1e-9, key, file: file, line: line)
        }
        XCTAssertEqual(try number(got, "bleu"), try number(reference, "bleu"), accuracy: 1e-6, "bleu", file: file, line: line)
    }

    /// Perplexity, token accuracy, greedy answers, exact match, BLEU and ROUGE on alpaca, chat and
    /// completion files equal those of transformers, sacreBLEU and rouge-score.
    func testEvalMatchesTransformersOnEveryFormat() throws {
        let reference = try expected()
        let maxTokens = String(try XCTUnwrap(reference["max_new_tokens"] as? Int))
        for name in ["eval-alpaca.jsonl", "eval-chat.jsonl", "eval-completion.jsonl"] {
            let out = try succeed(["eval", "--model", model, "--data", fixture(name), "--max-tokens", maxTokens, "--json"])
            try checkEval(try json(out), try XCTUnwrap(reference[name] as? [String: Any]))
        }
    }

    /// With `--adapter`, the numbers equal peft's for the same adapter; the table output names them.
    func testEvalWithAdapterMatchesPEFT() throws {
        let reference = try expected()
        let maxTokens = String(try XCTUnwrap(reference["max_new_tokens"] as? Int))
        let args = ["eval", "--model", model, "--adapter", adapter, "--data", fixture("eval-alpaca.jsonl"), "--max-tokens", maxTokens]
        try checkEval(try json(try succeed(args + ["--json"])), try XCTUnwrap(reference["eval-alpaca.jsonl+adapter"] as? [String: Any]))
        let table = try succeed(args + ["--batch-size", "3"])
        XCTAssertTrue(table.contains("perplexity"), table)
        XCTAssertTrue(table.contains("ROUGE-1/2/L"), table)
        // Teacher-forced only.
        let quick = try json(try succeed(["eval", "--model", model, "--data", fixture("eval-chat.jsonl"), "--no-generate", "--json", "--limit", "2"]))
        XCTAssertEqual(quick["examples"] as? Int, 2)
        XCTAssertNil(quick["bleu"])
    }

    /// Malformed lines are skipped with a warning naming them; the rest is scored.
    func testEvalSkipsMalformedLinesWithWarning() throws {
        let good = try String(contentsOfFile: fixture("eval-alpaca.jsonl"), encoding: .utf8).split(separator: "\n")
        let path = try write([String(good[0]), "{not json", "{\"instruction\": 3, \"output\": \"x\"}", String(good[1])].joined(separator: "\n"),
                             to: "mixed.jsonl")
        let run = try tailor(["eval", "--model", model, "--data", path, "--no-generate", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("warning: \(path): skipped 2 malformed line(s) (line 2: invalid JSON; line 3:"), run.stderr)
        let result = try json(run.stdout)
        XCTAssertEqual(result["examples"] as? Int, 2)
        XCTAssertEqual(result["malformed_lines"] as? Int, 2)
    }

    // MARK: - finetune

    /// A config file and flags together: flags win, the file fills the rest; the adapter is saved in
    /// PEFT format with its loss curve and history, and it has learned the training data.
    func testFinetuneMergesConfigAndFlagsAndLearns() throws {
        let output = scratch.appendingPathComponent("adapter").path
        let config = try write("""
            {"model": "\(model)", "trainFile": "\(fixture("train.jsonl"))",
             "training": {"epochs": 50, "learningRate": 0.01, "optimizer": {"adamW": {"weightDecay": 0}}, "decay": "constant"},
             "lora": {"r": 8, "lora_alpha": 8, "target_modules": ["q_proj"]},
             "data": {"batching": {"batchSize": 4}, "maxSequenceLength": 64}}
            """, to: "config.json")
        let out = try succeed(["finetune", "--config", config, "--output", output, "--rank", "4",
                               "--targets", "q_proj,k_proj,v_proj,o_proj", "--max-steps", "12", "--eval-data", fixture("valid.jsonl"), "--json"])
        let summary = try json(out)
        XCTAssertEqual(summary["steps"] as? Int, 12)  // --max-steps beats the file's epochs
        XCTAssertTrue(out.contains("adapter (PEFT format): \(output)"), out)

        let adapterConfig = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(adapterConfig["r"] as? Int, 4)  // flag
        XCTAssertEqual(adapterConfig["lora_alpha"] as? Double ?? (adapterConfig["lora_alpha"] as? Int).map(Double.init), 8)  // file
        XCTAssertEqual(Set(adapterConfig["target_modules"] as? [String] ?? []), ["q_proj", "k_proj", "v_proj", "o_proj"])
        let weights = try SafetensorsFile(contentsOf: URL(fileURLWithPath: output + "/adapter_model.safetensors"))
        XCTAssertEqual(weights.tensorNames.count, 2 * 4 * 2)
        XCTAssertEqual(try weights.tensor(named: "base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight").shape, [4, 32])
        XCTAssertEqual(try weights.tensor(named: "base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight").shape, [16, 4])

        let svg = try String(contentsOfFile: output + "/loss.svg", encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("<polyline"), svg)
        let history = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/history.json"))) as? [String: Any])
        let steps = try XCTUnwrap(history["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.count, 12)
        for step in steps { XCTAssertEqual(step["learningRate"] as? Double ?? 0, 0.01, accuracy: 1e-9) }  // file: constant 0.01
        XCTAssertEqual((history["evaluations"] as? [Any])?.count, 1)

        // The adapter learned the training data: its loss there is far below the base model's.
        let base = try json(try succeed(["eval", "--model", model, "--data", fixture("train.jsonl"), "--no-generate", "--json"]))
        let tuned = try json(try succeed(["eval", "--model", model, "--adapter", output, "--data", fixture("train.jsonl"), "--no-generate", "--json"]))
        let baseLoss = try XCTUnwrap(base["loss"] as? Double), tunedLoss = try XCTUnwrap(tuned["loss"] as? Double)
        XCTAssertLessThan(tunedLoss, baseLoss - 1, "base \(baseLoss), tuned \(tunedLoss)")
    }

    /// Checkpoints are written every N steps, and resuming from one gives the same adapter as the
    /// uninterrupted run.
    func testFinetuneCheckpointAndResume() throws {
        let full = scratch.appendingPathComponent("full").path, resumed = scratch.appendingPathComponent("resumed").path
        let common = ["finetune", "--model", model, "--data", fixture("train.jsonl"), "--max-steps", "6", "--lr", "5e-3",
                      "--batch-size", "3", "--rank", "2", "--seed", "9"]
        try succeed(common + ["--output", full, "--save-every", "3"])
        let checkpoint = full + "/checkpoints/checkpoint-3"
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint + "/trainer_state.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: full + "/checkpoints/checkpoint-6/trainable.safetensors"))
        try succeed(common + ["--output", resumed, "--resume", checkpoint])
        let a = try SafetensorsFile(contentsOf: URL(fileURLWithPath: full + "/adapter_model.safetensors"))
        let b = try SafetensorsFile(contentsOf: URL(fileURLWithPath: resumed + "/adapter_model.safetensors"))
        XCTAssertEqual(a.tensorNames.sorted(), b.tensorNames.sorted())
        for name in a.tensorNames {
            XCTAssertEqual(try a.tensor(named: name).scalars, try b.tensor(named: name).scalars, name)
        }
    }

    /// `--optimizer adamw8bit` (and `"adamW8bit"` in a config file): full fine-tuning keeps 8-bit
    /// moments for the large tensors in its checkpoints, and resuming gives the uninterrupted result.
    func testFinetuneWithEightBitAdamWCheckpointsAndResumes() throws {
        let full = scratch.appendingPathComponent("full8").path, resumed = scratch.appendingPathComponent("resumed8").path
        let config = try write("{\"training\": {\"optimizer\": {\"adamW8bit\": {\"weightDecay\": 0}}}}", to: "adamw8bit.json")
        let common = ["finetune", "--model", model, "--data", fixture("train.jsonl"), "--max-steps", "4", "--lr", "1e-3",
                      "--batch-size", "3", "--method", "full", "--seed", "9"]
        try succeed(common + ["--config", config, "--output", full, "--save-every", "2"])
        let state = try SafetensorsFile(contentsOf: URL(fileURLWithPath: full + "/checkpoints/checkpoint-2/optimizer.safetensors"))
        XCTAssertTrue(state.tensorNames.contains { $0.hasPrefix("state1.") }, "\(state.tensorNames)")
        XCTAssertTrue(state.tensorNames.contains { $0.hasPrefix("first.") }, "small tensors keep Float32 moments")
        try succeed(common + ["--optimizer", "adamw8bit", "--weight-decay", "0", "--output", resumed,
                              "--resume", full + "/checkpoints/checkpoint-2"])
        let a = try SafetensorsFile(contentsOf: URL(fileURLWithPath: full + "/model.safetensors"))
        let b = try SafetensorsFile(contentsOf: URL(fileURLWithPath: resumed + "/model.safetensors"))
        XCTAssertEqual(a.tensorNames.sorted(), b.tensorNames.sorted())
        for name in a.tensorNames { XCTAssertEqual(try a.tensor(named: name).scalars, try b.tensor(named: name).scalars, name) }
    }

    // MARK: - merge, generate, chat, tokenize, inspect

    /// A merged folder scores exactly like base + adapter.
    func testMergeEqualsUnmergedAdapter() throws {
        let merged = scratch.appendingPathComponent("merged").path
        let out = try succeed(["merge", "--model", model, "--adapter", adapter, "--output", merged])
        XCTAssertTrue(out.contains(merged))
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: merged + "/" + file), file)
        }
        let data = ["--data", fixture("eval-alpaca.jsonl"), "--no-generate", "--json"]
        let a = try json(try succeed(["eval", "--model", model, "--adapter", adapter] + data))
        let b = try json(try succeed(["eval", "--model", merged] + data))
        XCTAssertEqual(try XCTUnwrap(a["loss"] as? Double), try XCTUnwrap(b["loss"] as? Double), accuracy: 1e-4)
        XCTAssertEqual(a["token_accuracy"] as? Double, b["token_accuracy"] as? Double)
    }

    /// `export --format gguf` writes one file with the adapter merged in and the tokenizer and chat
    /// template: `generate` on it answers like the folder with the adapter unmerged. `--adapter-only`
    /// writes a llama.cpp LoRA file, `--format safetensors` a folder; bad flags fail with one line.
    func testExportGGUFAnswersLikeTheAdaptedFolder() throws {
        let gguf = scratch.appendingPathComponent("model.gguf").path
        XCTAssertTrue(try succeed(["export", "--format", "gguf", "--quant", "f32", "--model", model, "--adapter", adapter, "--output", gguf]).contains(gguf))
        let prompt = ["--chat", "--max-tokens", "12", "What colour is the fruit?\n\nkiwi"]
        XCTAssertEqual(try succeed(["generate", "--model", gguf] + prompt), try succeed(["generate", "--model", model, "--adapter", adapter] + prompt))
        let lora = scratch.appendingPathComponent("lora.gguf").path
        try succeed(["export", "--format", "gguf", "--adapter-only", "--model", model, "--adapter", adapter, "--output", lora])
        XCTAssertEqual(try GGUFFile(contentsOf: URL(fileURLWithPath: lora))["general.type"]?.string, "adapter")
        let folder = scratch.appendingPathComponent("exported").path
        try succeed(["export", "--format", "safetensors", "--model", model, "--adapter", adapter, "--output", folder])
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/model.safetensors"))
        try assertFails(["export", "--format", "gguf", "--quant", "q3_k", "--model", model, "--output", gguf], with: "--quant", status: 64)
        try assertFails(["export", "--format", "onnx", "--model", model, "--output", gguf], with: "--format", status: 64)
        try assertFails(["export", "--format", "gguf", "--adapter-only", "--model", model, "--output", gguf], with: "--adapter", status: 64)
        try assertFails(["export", "--format", "safetensors", "--quant", "q8_0", "--model", model, "--output", folder], with: "f32", status: 64)
    }

    /// `generate --chat` gives transformers' greedy answer; `--dump-logits` saves the prompt's logits.
    func testGenerateAndDumpLogits() throws {
        let reference = try XCTUnwrap(try expected()["eval-alpaca.jsonl"] as? [String: Any])
        let predictions = try XCTUnwrap(reference["predictions"] as? [String])
        let dump = scratch.appendingPathComponent("logits.safetensors")
        let out = try succeed(["generate", "--model", model, "--chat", "--max-tokens", "16", "--dump-logits", dump.path,
                               "What colour is the fruit?\n\nkiwi"])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), predictions[2])
        let file = try SafetensorsFile(contentsOf: dump)
        let inputIDs = try XCTUnwrap(reference["input_ids"] as? [[Int]])[2]
        let labels = try XCTUnwrap(reference["labels"] as? [[Int]])[2]
        let promptLength = labels.firstIndex { $0 != -100 } ?? 0
        XCTAssertEqual(try file.tensor(named: "logits").shape, [promptLength, 600])
        let ids = try XCTUnwrap(file.metadata["input_ids"])
        XCTAssertEqual(ids, "[" + inputIDs.prefix(promptLength).map(String.init).joined(separator: ",") + "]")
    }

    /// `--quantize` quantizes the linear layers on load: the prompt's logits move a little, not a lot.
    func testQuantizeOnLoadChangesTheLogitsSlightly() throws {
        func logits(_ extra: [String]) throws -> [Float] {
            let dump = scratch.appendingPathComponent("logits-\(extra.joined()).safetensors")
            _ = try succeed(["generate", "--model", model, "--max-tokens", "1", "--dump-logits", dump.path] + extra + ["The colour of a banana is"])
            return try SafetensorsFile(contentsOf: dump).tensor(named: "logits").scalars
        }
        let dense = try logits([])
        for format in ["nf4", "int8"] {
            let quantized = try logits(["--quantize", format])
            XCTAssertEqual(quantized.count, dense.count)
            let delta = maxAbsoluteError(quantized, dense)
            let scale = dense.map(abs).max() ?? 1
            XCTAssertGreaterThan(delta, 0, "\(format): the layers were quantized")
            XCTAssertLessThan(delta, 0.5 * scale, "\(format): still the same model")
        }
        try assertFails(["generate", "--model", model, "--quantize", "nf4", "--quantized", "hi"], with: "exclude each other")
    }

    /// `chat` answers each line of standard input with the greedy reply transformers gives.
    func testChatAnswersFromStandardInput() throws {
        let reference = try XCTUnwrap(try expected()["eval-chat.jsonl"] as? [String: Any])
        let predictions = try XCTUnwrap(reference["predictions"] as? [String])
        let out = try succeed(["chat", "--model", model, "--max-tokens", "16"], input: "What colour is a kiwi?\n/exit\n")
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), predictions[2])
    }

    /// `tokenize` gives the ids `tokenizers` gives for the same text.
    func testTokenizeMatchesReference() throws {
        let reference = try XCTUnwrap(try expected()["eval-completion.jsonl"] as? [String: Any])
        let inputIDs = try XCTUnwrap(reference["input_ids"] as? [[Int]])[0]
        let labels = try XCTUnwrap(reference["labels"] as? [[Int]])[0]
        let promptLength = labels.firstIndex { $0 != -100 } ?? 0
        let out = try succeed(["tokenize", "--tokenizer", model + "/tokenizer.json", "--text", "The colour of a banana is"])
        XCTAssertEqual(out, inputIDs.prefix(promptLength).map(String.init).joined(separator: " ") + "\n")
    }

    /// `inspect` describes the architecture and the adapter.
    func testInspect() throws {
        let out = try succeed(["inspect", "--model", model, "--adapter", adapter])
        XCTAssertTrue(out.contains("architecture: qwen2, 2 layers, hidden 32, heads 4/2 (head dim 8), vocabulary 600"), out)
        XCTAssertTrue(out.contains("\"r\":2"), out)
    }

    // MARK: - bad input

    func testMissingFilesFailWithOneLine() throws {
        let nowhere = scratch.appendingPathComponent("nowhere").path
        try assertFails(["eval", "--model", nowhere, "--data", fixture("eval-alpaca.jsonl")], with: "no model at \(nowhere)")
        try assertFails(["generate", "--model", nowhere, "hi"], with: "no model at")
        try assertFails(["inspect", "--model", nowhere], with: "no model at")
        try assertFails(["merge", "--model", model, "--adapter", nowhere, "--output", scratch.appendingPathComponent("m").path],
                        with: "adapter_config.json")
        try assertFails(["tokenize", "--tokenizer", nowhere, "--text", "x"], with: "no tokenizer at")
        try assertFails(["eval", "--model", model, "--data", nowhere], with: "no data file at \(nowhere)")
        try assertFails(["finetune", "--model", model, "--data", nowhere, "--output", scratch.path + "/o"], with: "no data file at")
        try assertFails(["finetune", "--config", nowhere], with: "cannot read config file")
        try assertFails(["eval", "--data", fixture("eval-alpaca.jsonl")], with: "the default model is not downloaded yet",
                        environment: ["TAILOR_CACHE": nowhere])
    }

    func testBadFlagsFailWithOneLine() throws {
        try assertFails(["finetune", "--bogus"], with: "Unknown option '--bogus'", status: 64)
        try assertFails(["eval", "--model", model], with: "Missing expected argument '--data", status: 64)
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--epochs", "two"],
                        with: "--epochs", status: 64)
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--schedule", "zigzag"],
                        with: "zigzag", status: 64)
        try assertFails(["eval", "--model", model, "--data", fixture("eval-alpaca.jsonl"), "--format", "csv"], with: "csv", status: 64)
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--lr=-1"],
                        with: "learningRate must be positive")
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--max-steps", "0"],
                        with: "maxSteps must be positive")
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--dropout", "1.5"],
                        with: "lora_dropout")
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl")], with: "finetune needs --output")
        try assertFails(["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--targets", "nothing_here"],
                        with: "no module matches")
        try assertFails(["tokenize", "--tokenizer", model + "/tokenizer.json"], with: "give exactly one of --text and --file", status: 64)
        try assertFails(["frobnicate"], with: "Unexpected argument 'frobnicate'", status: 64)
    }

    func testMalformedConfigFailsWithOneLine() throws {
        let base = ["finetune", "--model", model, "--data", fixture("train.jsonl"), "--output", scratch.path + "/o", "--config"]
        try assertFails(base + [try write("{\"training\": {\"epochs\": 2", to: "a.json")], with: "is not valid JSON")
        try assertFails(base + [try write("[1, 2]", to: "b.json")], with: "must be a JSON object")
        try assertFails(base + [try write("{\"trainig\": {}}", to: "c.json")], with: "unknown key \"trainig\"")
        try assertFails(base + [try write("{\"training\": {\"epochs\": \"three\"}}", to: "d.json")], with: "\"training.epochs\" must be an integer")
        try assertFails(base + [try write("{\"training\": {\"learningrate\": 1}}", to: "e.json")], with: "unknown key \"training.learningrate\"")
        try assertFails(base + [try write("{\"training\": {\"optimizer\": \"lion\"}}", to: "f.json")], with: "unknown optimizer \"lion\"")
        try assertFails(base + [try write("{\"training\": {\"optimizer\": {\"sgd\": {\"beta1\": 0.9}}}}", to: "g.json")],
                        with: "unknown sgd setting \"beta1\"")
        try assertFails(base + [try write("{\"lora\": {\"peft_type\": \"IA3\"}}", to: "h.json")], with: "unsupported")
        try assertFails(base + [try write("{\"data\": {\"batching\": {\"batchSize\": 0}}}", to: "i.json")], with: "batchSize must be at least 1")
        try assertFails(base + [try write("{\"data\": {\"template\": \"vicuna\"}}", to: "j.json")], with: "\"data.template\" must be one of")
        try assertFails(base + [try write("{\"training\": {\"decay\": \"zigzag\"}}", to: "k.json")], with: "\"training.decay\"")
    }

    func testMalformedDataFailsWithOneLine() throws {
        let garbage = try write("not json\n{\"nothing\": 1}\n[1]\n", to: "garbage.jsonl")
        try assertFails(["eval", "--model", model, "--data", garbage], with: "no line has the fields of a known format")
        try assertFails(["finetune", "--model", model, "--data", garbage, "--output", scratch.path + "/o"], with: "no line has the fields")
        let empty = try write("", to: "empty.jsonl")
        try assertFails(["eval", "--model", model, "--data", empty], with: "empty.jsonl")
        let blank = try write("{\"instruction\": \"Say\", \"output\": \"   \"}\n", to: "blank.jsonl")
        try assertFails(["eval", "--model", model, "--data", blank], with: "blank.jsonl")
        let binary = try write("\u{FFFD}\u{0}\u{1}", to: "binary.jsonl")
        try assertFails(["eval", "--model", model, "--data", binary], with: "binary.jsonl")
    }

    /// An adapter whose shapes do not fit the model, or that names missing layers, is refused.
    func testAdapterThatDoesNotFitFailsWithOneLine() throws {
        let bad = scratch.appendingPathComponent("bad-adapter")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try #"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"]}"#
            .write(to: bad.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        let prefix = "base_model.model.model.layers.0.self_attn.q_proj"
        try SafetensorsWriter.write([prefix + ".lora_A.weight": .zeros([2, 48]), prefix + ".lora_B.weight": .zeros([32, 2])],
                                    to: bad.appendingPathComponent("adapter_model.safetensors"))
        try assertFails(["eval", "--model", model, "--adapter", bad.path, "--data", fixture("eval-alpaca.jsonl")], with: "adapter does not fit the model")
        try assertFails(["merge", "--model", model, "--adapter", bad.path, "--output", scratch.path + "/m"], with: "adapter does not fit the model")

        let missing = "base_model.model.model.layers.7.self_attn.q_proj"
        try SafetensorsWriter.write([missing + ".lora_A.weight": .zeros([2, 32]), missing + ".lora_B.weight": .zeros([32, 2])],
                                    to: bad.appendingPathComponent("adapter_model.safetensors"))
        try assertFails(["generate", "--model", model, "--adapter", bad.path, "hi"], with: "no linear layer at 'model.layers.7.self_attn.q_proj'")
        try "{\"r\": \"two\"}".write(to: bad.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        try assertFails(["inspect", "--model", model, "--adapter", bad.path], with: "adapter_config.json")
    }
}
