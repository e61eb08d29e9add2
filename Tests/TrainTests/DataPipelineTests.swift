import Foundation
import XCTest
import Model
@testable import Train

final class DataPipelineTests: XCTestCase {
    private let qwen = ByteTokenizer.qwenLike()
    private let sku = DataRecord.alpaca(instruction: "Write the inventory code for: a large blue wool sweater", input: "", output: "SWT-WOL-BLU-L")

    private func config(_ change: (inout DataConfig) -> Void = { _ in }) -> DataConfig {
        var c = DataConfig(validationFraction: 0)
        change(&c)
        return c
    }

    /// The texts of the trained and untrained parts of an example.
    private func parts(_ e: TokenizedExample, _ tokenizer: ByteTokenizer) -> (prompt: String, target: String) {
        let target = zip(e.inputIDs, e.labels).filter { $0.1 != TokenizedExample.ignoreIndex }.map(\.0)
        let prompt = zip(e.inputIDs, e.labels).filter { $0.1 == TokenizedExample.ignoreIndex }.map(\.0)
        return (tokenizer.text(prompt), tokenizer.text(target))
    }

    func testChatMLMasksPromptAndTrainsAnswerWithEOS() throws {
        let data = try DataPipeline.prepare(records: [sku], tokenizer: qwen, config: config { $0.template = .qwen2_5 })
        let e = try XCTUnwrap(data.train.first)
        let expectedPrompt = try ChatTemplate.qwen2_5.render([.user("Write the inventory code for: a large blue wool sweater")], addGenerationPrompt: true)
        // Labels equal inputs where trained; the first label is always ignored.
        XCTAssertEqual(e.labels.count, e.inputIDs.count)
        XCTAssertEqual(e.labels[0], TokenizedExample.ignoreIndex)
        for (id, label) in zip(e.inputIDs, e.labels) where label != TokenizedExample.ignoreIndex { XCTAssertEqual(id, label) }
        let (prompt, target) = parts(e, qwen)
        XCTAssertEqual(prompt, expectedPrompt)
        // The answer ends with <|im_end|> = EOS, which is not duplicated; ChatML's final "\n" is dropped.
        XCTAssertEqual(target, "SWT-WOL-BLU-L<|im_end|>")
        XCTAssertEqual(e.inputIDs.last, Int(qwen.id("<|im_end|>")))
        XCTAssertEqual(qwen.text(e.inputIDs), expectedPrompt + "SWT-WOL-BLU-L<|im_end|>")
        XCTAssertEqual(e.targetTokenCount, "SWT-WOL-BLU-L".utf8.count + 1)
        // The same prompt text is what a generator would be given.
        XCTAssertEqual(try data.formatter.prompt(for: sku), expectedPrompt)
        XCTAssertEqual(data.formatter.reference(for: sku), "SWT-WOL-BLU-L")
    }

    func testTemplateIsDetectedFromTokenizer() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Fixtures/chat_templates.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures)) as? [String: Any]
        let templates = try XCTUnwrap(json?["templates"] as? [String: String])
        let tokenizer = ByteTokenizer.qwenLike(chatTemplate: templates["qwen2.5"])
        XCTAssertEqual(DataPipeline.formatter(for: DataConfig(), tokenizer: tokenizer).template, .qwen2_5)
        let llama = ByteTokenizer.llamaLike(chatTemplate: templates["llama2"])
        XCTAssertEqual(DataPipeline.formatter(for: DataConfig(), tokenizer: llama).template, .llama2(bosToken: "<s>", eosToken: "</s>"))
        XCTAssertEqual(DataPipeline.formatter(for: DataConfig(), tokenizer: ByteTokenizer.llamaLike()).template, .alpaca)
        XCTAssertEqual(DataPipeline.formatter(for: DataConfig(template: .llama3Instruct), tokenizer: tokenizer).template, .llama3Instruct)
    }

    func testAlpacaTemplateAppendsEOSAndRawBOS() throws {
        let llama = ByteTokenizer.llamaLike()
        let record = DataRecord.alpaca(instruction: "Add", input: "2 and 3", output: "5")
        let data = try DataPipeline.prepare(records: [record], tokenizer: llama, config: config { $0.template = .alpaca })
        let e = try XCTUnwrap(data.train.first)
        XCTAssertEqual(e.inputIDs.first, Int(llama.id("<s>")), "raw text gets the tokenizer's BOS")
        XCTAssertEqual(e.inputIDs.last, Int(llama.id("</s>")))
        let (prompt, target) = parts(e, llama)
        XCTAssertEqual(prompt, "<s>" + ChatTemplate.alpacaPrompt(instruction: "Add", input: "2 and 3"))
        XCTAssertEqual(target, "5</s>")

        let noEOS = try DataPipeline.prepare(records: [record], tokenizer: llama, config: config { $0.template = .alpaca; $0.appendEOS = false })
        XCTAssertEqual(parts(try XCTUnwrap(noEOS.train.first), llama).target, "5")
        // A Qwen-style tokenizer adds no BOS.
        let q = try DataPipeline.prepare(records: [record], tokenizer: qwen, config: config { $0.template = .alpaca })
        XCTAssertEqual(qwen.text(try XCTUnwrap(q.train.first).inputIDs), ChatTemplate.alpacaPrompt(instruction: "Add", input: "2 and 3") + "5<|im_end|>")
    }

    func testTrainOnPromptTrainsEverythingButTheFirstToken() throws {
        let data = try DataPipeline.prepare(records: [sku], tokenizer: qwen, config: config { $0.template = .qwen2_5; $0.trainOnPrompt = true })
        let e = try XCTUnwrap(data.train.first)
        XCTAssertEqual(e.labels[0], TokenizedExample.ignoreIndex)
        XCTAssertEqual(Array(e.labels.dropFirst()), Array(e.inputIDs.dropFirst()))
        XCTAssertEqual(e.targetTokenCount, e.count - 1)
    }

    func testMultiTurnChatTrainsEveryAssistantTurn() throws {
        let chat = DataRecord.chat([.system("Be brief."), .user("2+2?"), .assistant("4"), .user("3+3?"), .assistant("6"), .user("bye")])
        let data = try DataPipeline.prepare(records: [chat], tokenizer: qwen, config: config { $0.template = .chatML(defaultSystemPrompt: nil) })
        let e = try XCTUnwrap(data.train.first)
        XCTAssertEqual(parts(e, qwen).target, "4<|im_end|>6<|im_end|>")
        // The trailing user turn (after the last answer) is not included.
        XCTAssertFalse(qwen.text(e.inputIDs).contains("bye"))
        // Llama-3: <|eot_id|> ends each answer, and the tokenizer's EOS is appended at the end.
        let l3 = try DataPipeline.prepare(records: [chat], tokenizer: qwen, config: config { $0.template = .llama3Instruct })
        XCTAssertEqual(parts(try XCTUnwrap(l3.train.first), qwen).target, "4<|eot_id|>6<|eot_id|><|im_end|>")
    }

    func testCompletionAndTextFormats() throws {
        let data = try DataPipeline.prepare(records: [.completion(prompt: "The sky is", completion: " blue"), .text("All of this.")],
                                            tokenizer: qwen, config: config { $0.template = .qwen2_5 })
        XCTAssertEqual(data.train.count, 2)
        XCTAssertEqual(parts(data.train[0], qwen).prompt, "The sky is")
        XCTAssertEqual(parts(data.train[0], qwen).target, " blue<|im_end|>")
        // Text: everything is a target except the first token, which nothing predicts.
        XCTAssertEqual(parts(data.train[1], qwen).target, "ll of this.<|im_end|>")
    }

    func testLengthFiltersTruncationAndReport() throws {
        let long = DataRecord.completion(prompt: String(repeating: "p", count: 50), completion: "abc")
        let records: [DataRecord] = [sku, .text("x"), long, .completion(prompt: "q", completion: String(repeating: "r", count: 30))]
        // text "x" = 2 tokens (x + EOS); long = 54; last = 32.
        let filtered = try DataPipeline.prepare(records: records, tokenizer: qwen, config: config {
            $0.template = .alpaca; $0.minTokens = 3; $0.maxTokens = 60; $0.maxSequenceLength = 40
        })
        XCTAssertEqual(filtered.report.dropped[.tooShort], [2])
        XCTAssertEqual(filtered.report.dropped[.tooLong], [1])  // the alpaca record is longer than 60
        // "long" is cut to 40 from the right: the answer is gone, so it has no targets.
        XCTAssertEqual(filtered.report.dropped[.noTargetTokens], [3])
        XCTAssertEqual(filtered.report.truncatedLines, [3])
        XCTAssertEqual(filtered.trainLineNumbers, [4])

        let left = try DataPipeline.prepare(records: [long], tokenizer: qwen, config: config { $0.maxSequenceLength = 10; $0.truncation = .left })
        let e = try XCTUnwrap(left.train.first)
        XCTAssertEqual(e.count, 10)
        XCTAssertEqual(e.labels[0], TokenizedExample.ignoreIndex)
        XCTAssertEqual(parts(e, qwen).target, "abc<|im_end|>")
        XCTAssertEqual(left.report.truncatedLines, [1])
    }

    func testCleaningDedupTemplateErrorsAndSplitInReport() throws {
        var lines: [String] = []
        for i in 0..<40 { lines.append(#"{"messages": [{"role": "user", "content": "Q\#(i)"}, {"role": "assistant", "content": "A\#(i)"}]}"#) }
        lines.append(#"{"messages": [{"role": "user", "content": "Q0"}, {"role": "assistant", "content": "A0"}]}"#)   // 41 duplicate of 1
        lines.append(#"{"messages": [{"role": "user", "content": "q0!"}, {"role": "assistant", "content": "a0"}]}"#)   // 42 normalised duplicate of 1
        lines.append(#"{"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}, {"role": "assistant", "content": "z"}]}"#)  // 43 Llama-2 rejects
        lines.append(#"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "\u0007\u0000"}]}"#)  // 44 empty after cleaning
        lines.append("{broken")   // 45
        let loaded = try JSONLReader.read(string: lines.joined(separator: "\n"), source: "chat.jsonl")
        let data = try DataPipeline.prepare(loaded, tokenizer: ByteTokenizer.llamaLike(), config: DataConfig(
            template: .llama2Chat, deduplication: .normalized, validationFraction: 0.25, seed: 5))
        let r = data.report
        XCTAssertEqual(r.linesRead, 45)
        XCTAssertEqual(r.malformed, [MalformedLine(lineNumber: 45, reason: .invalidJSON)])
        XCTAssertEqual(r.dropped[.duplicate], [41, 42])
        XCTAssertEqual(r.dropped[.templateError], [43])
        XCTAssertEqual(r.dropped[.emptyAfterCleaning], [44])
        XCTAssertEqual(r.droppedTotal, 4)
        XCTAssertEqual(r.trainExamples, 30)
        XCTAssertEqual(r.validationExamples, 10)
        XCTAssertEqual(Set(data.trainLineNumbers).union(data.validationLineNumbers), Set(1...40))
        XCTAssertEqual(r.trainTargetTokens, data.train.reduce(0) { $0 + $1.targetTokenCount })
        XCTAssertEqual(r.trainTokens, data.train.reduce(0) { $0 + $1.count })
        let text = r.description
        XCTAssertTrue(text.contains("line 45: invalid JSON"), text)
        XCTAssertTrue(text.contains("duplicate: 2"), text)
        XCTAssertTrue(text.contains("train 30, validation 10"), text)

        // Same seed → same split; another seed → another split.
        let again = try DataPipeline.prepare(loaded, tokenizer: ByteTokenizer.llamaLike(), config: DataConfig(
            template: .llama2Chat, deduplication: .normalized, validationFraction: 0.25, seed: 5))
        XCTAssertEqual(again.validationLineNumbers, data.validationLineNumbers)
        XCTAssertEqual(again.validation, data.validation)
        let other = try DataPipeline.prepare(loaded, tokenizer: ByteTokenizer.llamaLike(), config: DataConfig(
            template: .llama2Chat, deduplication: .normalized, validationFraction: 0.25, seed: 6))
        XCTAssertNotEqual(other.validationLineNumbers, data.validationLineNumbers)
    }

    func testEmptyResultAndInvalidConfigurationThrow() {
        XCTAssertThrowsError(try DataPipeline.prepare(records: [.text(" \u{7} ")], tokenizer: qwen, config: DataConfig())) {
            XCTAssertEqual($0 as? DataError, .noUsableExamples(source: "in-memory records"))
        }
        for bad in [DataConfig(maxSequenceLength: 1), DataConfig(minTokens: -1), DataConfig(minTokens: 10, maxTokens: 5),
                    DataConfig(validationFraction: 1), DataConfig(batching: BatchingOptions(batchSize: 0))] {
            XCTAssertThrowsError(try DataPipeline.prepare(records: [sku], tokenizer: qwen, config: bad)) {
                guard case .invalidConfiguration = $0 as? DataError else { return XCTFail("\($0)") }
            }
        }
    }

    func testConfigIsCodableWithDefaultsForMissingKeys() throws {
        let empty = try JSONDecoder().decode(DataConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(empty, DataConfig())
        let partial = try JSONDecoder().decode(DataConfig.self, from: Data(#"{"maxSequenceLength": 256, "batching": {"packing": true}, "cleaning": {"whitespace": "collapse"}, "format": "chat"}"#.utf8))
        XCTAssertEqual(partial.maxSequenceLength, 256)
        XCTAssertTrue(partial.batching.packing)
        XCTAssertEqual(partial.batching.batchSize, BatchingOptions().batchSize)
        XCTAssertEqual(partial.cleaning.whitespace, .collapse)
        XCTAssertTrue(partial.cleaning.stripControlCharacters)
        XCTAssertEqual(partial.format, .chat)
        var full = DataConfig(format: .alpaca, template: .qwen2_5, systemPrompt: "S", maxTokens: 99, seed: 9)
        full.batching.dropLast = true
        XCTAssertEqual(try JSONDecoder().decode(DataConfig.self, from: JSONEncoder().encode(full)), full)
        let report = try DataPipeline.prepare(records: [sku], tokenizer: qwen, config: DataConfig()).report
        XCTAssertEqual(try JSONDecoder().decode(DataReport.self, from: JSONEncoder().encode(report)), report)
    }
}
