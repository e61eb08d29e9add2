import Foundation
import XCTest
import Model
import Tensor
@testable import Train

final class JSONLReaderTests: XCTestCase {
    func testMalformedLinesAreSkippedAndCountedWithLineNumbers() throws {
        var bytes = Data()
        let lines: [String] = [
            #"{"instruction": "Say hi", "output": "hi"}"#,                       // 1 ok
            #"{"instruction": "Bad", "output": "x""#,                             // 2 invalid JSON
            "",                                                                   // 3 empty
            "   \t",                                                              // 4 empty
            #"["instruction", "output"]"#,                                        // 5 not an object
            #"{"instruction": "No output"}"#,                                     // 6 missing output
            #"{"instruction": "Number", "output": 5}"#,                           // 7 wrong type
            #"{"instruction": "Blank", "output": "   "}"#,                        // 8 empty field
            #"{"instruction": "Null input", "input": null, "output": "ok", "extra": [1]}"#,  // 9 ok
            #"{"instruction": 3, "output": "x"}"#,                                // 10 wrong type
            "\"just a string\"",                                                  // 11 not an object
            #"{"instruction": "Input", "input": "ctx", "output": "y"}"# + "\r",  // 12 ok (CRLF)
            #"{"output": "no instruction"}"#,                                     // 13 missing instruction
            #"{"instruction": "Input type", "input": ["a"], "output": "y"}"#,     // 14 wrong type
        ]
        for line in lines { bytes.append(contentsOf: Array(line.utf8) + [0x0A]) }
        bytes.append(contentsOf: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])      // 15 invalid UTF-8
        bytes.append(contentsOf: Array(#"{"instruction": "Last", "output": "no newline"}"#.utf8))  // 16 ok

        let loaded = try JSONLReader.read(data: bytes, source: "test.jsonl")
        XCTAssertEqual(loaded.format, .alpaca)
        XCTAssertEqual(loaded.lineCount, 16)
        XCTAssertEqual(loaded.lineNumbers, [1, 9, 12, 16])
        XCTAssertEqual(loaded.records, [
            .alpaca(instruction: "Say hi", input: "", output: "hi"),
            .alpaca(instruction: "Null input", input: "", output: "ok"),
            .alpaca(instruction: "Input", input: "ctx", output: "y"),
            .alpaca(instruction: "Last", input: "", output: "no newline"),
        ])
        XCTAssertEqual(loaded.malformed, [
            MalformedLine(lineNumber: 2, reason: .invalidJSON),
            MalformedLine(lineNumber: 3, reason: .emptyLine),
            MalformedLine(lineNumber: 4, reason: .emptyLine),
            MalformedLine(lineNumber: 5, reason: .notAnObject),
            MalformedLine(lineNumber: 6, reason: .missingField("output")),
            MalformedLine(lineNumber: 7, reason: .wrongType(field: "output", expected: "a string")),
            MalformedLine(lineNumber: 8, reason: .emptyField("output")),
            MalformedLine(lineNumber: 10, reason: .wrongType(field: "instruction", expected: "a string")),
            MalformedLine(lineNumber: 11, reason: .notAnObject),
            MalformedLine(lineNumber: 13, reason: .missingField("instruction")),
            MalformedLine(lineNumber: 14, reason: .wrongType(field: "input", expected: "a string")),
            MalformedLine(lineNumber: 15, reason: .invalidUTF8),
        ])
    }

    func testChatLinesAreValidatedPerMessage() throws {
        let jsonl = """
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
        {"messages": [{"role": "user", "content": "Q"}, {"role": "robot", "content": "A"}]}
        {"messages": [{"role": "user", "content": "only a question"}]}
        {"messages": []}
        {"messages": "hello"}
        {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant"}]}
        {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": 1}]}
        {"messages": [{"role": "user", "content": "Q"}, "not an object"]}
        {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": " "}]}
        """
        let loaded = try JSONLReader.read(string: jsonl)
        XCTAssertEqual(loaded.format, .chat)
        XCTAssertEqual(loaded.records, [.chat([.system("S"), .user("Q"), .assistant("A")])])
        XCTAssertEqual(loaded.malformed.map(\.lineNumber), Array(2...9))
        XCTAssertEqual(loaded.malformed.map(\.reason), [
            .unknownRole("robot"), .noAssistantMessage, .emptyField("messages"),
            .wrongType(field: "messages", expected: "an array"), .missingField("messages[1].content"),
            .wrongType(field: "messages[1].content", expected: "a string"),
            .wrongType(field: "messages[1]", expected: "an object"), .emptyField("messages[1].content"),
        ])
    }

    func testFormatDetectionAndOverride() throws {
        let completion = try JSONLReader.read(string: #"{"prompt": "The sky is", "completion": " blue"}"# + "\n" + #"{"completion": "x"}"#)
        XCTAssertEqual(completion.format, .completion)
        XCTAssertEqual(completion.records, [.completion(prompt: "The sky is", completion: " blue")])
        XCTAssertEqual(completion.malformed, [MalformedLine(lineNumber: 2, reason: .missingField("prompt"))])

        // The first detectable line decides, even after garbage.
        let text = try JSONLReader.read(string: "oops\n" + #"{"text": "hello"}"# + "\n" + #"{"instruction": "i", "output": "o"}"#)
        XCTAssertEqual(text.format, .text)
        XCTAssertEqual(text.records, [.text("hello")])
        XCTAssertEqual(text.malformed.map(\.lineNumber), [1, 3])

        let forced = try JSONLReader.read(string: #"{"instruction": "i", "output": "o"}"#, format: .text)
        XCTAssertEqual(forced.records, [])
        XCTAssertEqual(forced.malformed, [MalformedLine(lineNumber: 1, reason: .missingField("text"))])
    }

    func testUndetectableAndUnreadableSourcesThrow() {
        XCTAssertThrowsError(try JSONLReader.read(string: "")) { XCTAssertEqual($0 as? DataError, .cannotDetectFormat(source: "in-memory JSONL")) }
        XCTAssertThrowsError(try JSONLReader.read(string: "{\"foo\": 1}\nnot json")) {
            guard case .cannotDetectFormat = $0 as? DataError else { return XCTFail("\($0)") }
        }
        let missing = URL(fileURLWithPath: "/nonexistent/tailor/data.jsonl")
        XCTAssertThrowsError(try JSONLReader.read(contentsOf: missing)) {
            guard case .unreadableFile(let path, _) = $0 as? DataError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertTrue(($0 as? DataError)?.description.contains(missing.path) ?? false)
        }
    }

    func testLineCountingAndByteOrderMark() throws {
        // A trailing newline does not add a line; a BOM is ignored; blank line in the middle counts.
        let loaded = try JSONLReader.read(data: Data([0xEF, 0xBB, 0xBF] + Array("{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n".utf8)), source: "bom")
        XCTAssertEqual(loaded.lineCount, 3)
        XCTAssertEqual(loaded.records, [.text("a"), .text("b")])
        XCTAssertEqual(loaded.lineNumbers, [1, 3])
        XCTAssertEqual(loaded.malformed, [MalformedLine(lineNumber: 2, reason: .emptyLine)])
    }

    func testReadsFileFromDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-jsonl-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let lines = (0..<1000).map { #"{"prompt": "n=\#($0) ->", "completion": " \#($0 * 2)"}"# }
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        let loaded = try JSONLReader.read(contentsOf: url)
        XCTAssertEqual(loaded.records.count, 1000)
        XCTAssertEqual(loaded.records[999], .completion(prompt: "n=999 ->", completion: " 1998"))
        XCTAssertEqual(loaded.source, url.path)
    }

    func testMalformedReasonsDescribeThemselves() {
        XCTAssertEqual(MalformedLine(lineNumber: 7, reason: .missingField("output")).description, "line 7: missing field \"output\"")
        XCTAssertEqual(MalformedReason.wrongType(field: "x", expected: "a string").category, "wrong type")
    }
}

final class TextCleanerTests: XCTestCase {
    func testControlCharactersAreStrippedButNewlinesAndTabsKept() {
        let options = CleaningOptions(stripControlCharacters: true, stripHTMLTags: false, whitespace: .keep)
        XCTAssertEqual(TextCleaner.clean("a\u{0}b\u{7}c\r\nd\te\u{1B}[0m\u{7F}f\u{85}g", options: options), "abc\nd\te[0mfg")
        // Format characters (ZWJ in emoji) are not control characters.
        XCTAssertEqual(TextCleaner.clean("👩\u{200D}💻", options: options), "👩\u{200D}💻")
    }

    func testHTMLTagsAndEntities() {
        let options = CleaningOptions(stripControlCharacters: false, stripHTMLTags: true, whitespace: .keep)
        XCTAssertEqual(TextCleaner.clean("<p>Hello <b class=\"x\">world</b><br/></p>", options: options), "Hello world")
        XCTAssertEqual(TextCleaner.clean("a<!-- hidden <b> -->b<!DOCTYPE html>c", options: options), "abc")
        XCTAssertEqual(TextCleaner.clean("if a < b && c > d", options: options), "if a < b && c > d")
        XCTAssertEqual(TextCleaner.clean("<|im_end|> stays", options: options), "<|im_end|> stays")
        XCTAssertEqual(TextCleaner.clean("&lt;b&gt; &amp;amp; &quot;q&quot; &#39;s &#x41;&#66; &nbsp;x &bogus; & ;", options: options),
                       "<b> &amp; \"q\" 's AB  x &bogus; & ;")
        XCTAssertEqual(TextCleaner.clean("unclosed <b and <!-- open", options: options), "unclosed <b and <!-- open")
    }

    func testWhitespaceModes() {
        let text = "  def f():   \n\t    return 1\t \n\n\n\nend  "
        XCTAssertEqual(TextCleaner.clean(text, options: .init(whitespace: .keep)), text)
        XCTAssertEqual(TextCleaner.clean(text, options: .init(whitespace: .trimLineEnds)), "  def f():\n\t    return 1\n\n\n\nend")
        XCTAssertEqual(TextCleaner.clean(text, options: .init(whitespace: .collapse)), "def f():\nreturn 1\n\nend")
        // A completion's leading space survives the default cleaning.
        XCTAssertEqual(TextCleaner.clean(" Paris", options: CleaningOptions()), " Paris")
    }

    func testDeduplicationKeys() {
        let a = DataRecord.alpaca(instruction: "Hello, World!", input: "", output: "Hi.")
        let b = DataRecord.alpaca(instruction: "hello   world", input: "", output: "hi")
        let c = DataRecord.alpaca(instruction: "hello world", input: "", output: "bye")
        XCTAssertNotEqual(Deduplication.exact.key(for: a), Deduplication.exact.key(for: b))
        XCTAssertEqual(Deduplication.normalized.key(for: a), Deduplication.normalized.key(for: b))
        XCTAssertNotEqual(Deduplication.normalized.key(for: a), Deduplication.normalized.key(for: c))
        XCTAssertNil(Deduplication.none.key(for: a))
        // Field boundaries matter: moving text between fields is not a duplicate.
        XCTAssertNotEqual(Deduplication.exact.key(for: .completion(prompt: "ab", completion: "c")),
                          Deduplication.exact.key(for: .completion(prompt: "a", completion: "bc")))
        let (kept, dups) = Deduplication.normalized.partition([a, c, b, a])
        XCTAssertEqual(kept, [0, 1])
        XCTAssertEqual(dups, [2, 3])
    }
}

final class DatasetSplitTests: XCTestCase {
    func testSplitIsReproducibleDisjointAndSized() {
        let a = DatasetSplit(count: 1000, validationFraction: 0.1, seed: 7)
        let b = DatasetSplit(count: 1000, validationFraction: 0.1, seed: 7)
        let c = DatasetSplit(count: 1000, validationFraction: 0.1, seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.validation, c.validation)
        XCTAssertEqual(a.validation.count, 100)
        XCTAssertEqual(a.train.count, 900)
        XCTAssertEqual(Set(a.train).union(a.validation), Set(0..<1000))
        XCTAssertTrue(Set(a.train).isDisjoint(with: a.validation))
        XCTAssertEqual(a.train, a.train.sorted())
        // Not simply the first or last items.
        XCTAssertNotEqual(a.validation, Array(0..<100))
        XCTAssertNotEqual(a.validation, Array(900..<1000))
    }

    func testSplitEdgeCases() {
        XCTAssertEqual(DatasetSplit(count: 0, validationFraction: 0.5, seed: 1).train, [])
        XCTAssertEqual(DatasetSplit(count: 1, validationFraction: 0.5, seed: 1).train, [0])
        XCTAssertEqual(DatasetSplit(count: 5, validationFraction: 0, seed: 1).validation, [])
        XCTAssertEqual(DatasetSplit(count: 3, validationFraction: 0.99, seed: 1).train.count, 1)
    }

    func testSeededShuffleIsAPermutationAndUniformish() {
        var rng = SeededRandom(seed: 3)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<10_000 { counts[rng.nextIndex(below: 5)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 2000, accuracy: 150) }
        var items = Array(0..<50)
        rng.shuffle(&items)
        XCTAssertEqual(items.sorted(), Array(0..<50))
        XCTAssertNotEqual(items, Array(0..<50))
    }
}
