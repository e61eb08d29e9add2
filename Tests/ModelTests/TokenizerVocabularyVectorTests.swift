import Foundation
import Model
import TestSupport
import XCTest

/// llama.cpp's tokenizer test vectors (the `ggml-vocab-*.gguf` files with `.inp`/`.out`, produced by
/// Hugging Face tokenizers), fetched by `Scripts/fetch-tokenizer-vectors.sh`. Every test string must
/// encode to exactly the reference ids, as llama.cpp's test-tokenizer-0 checks them
/// (`add_special = false`, `parse_special = false`).
final class TokenizerVocabularyVectorTests: XCTestCase {
    static var folder: URL { Fixtures.cache.appendingPathComponent("vocab") }

    /// Test strings and expected ids, read like llama.cpp's test-tokenizer-0 reads them.
    static func vectors(_ name: String) throws -> [(text: String, ids: [Int])] {
        let base = folder.appendingPathComponent("ggml-vocab-\(name).gguf")
        let input = try String(decoding: Data(contentsOf: URL(fileURLWithPath: base.path + ".inp")), as: UTF8.self)
        let output = try String(decoding: Data(contentsOf: URL(fileURLWithPath: base.path + ".out")), as: UTF8.self)
        // Inputs are separated by "\n__ggml_vocab_test__\n"; a trailing separator ends the last one.
        var texts: [String] = []
        var rest = Substring(input)
        let separator = "\n__ggml_vocab_test__\n"
        while !rest.isEmpty {
            if let range = rest.range(of: separator) {
                texts.append(String(rest[..<range.lowerBound]))
                rest = rest[range.upperBound...]
            } else {
                texts.append(String(rest))
                rest = ""
            }
        }
        var lines = output.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        XCTAssertEqual(texts.count, lines.count, "\(name): .inp and .out disagree on the number of tests")
        return zip(texts, lines).map { text, line in
            (text, line.split(separator: " ").compactMap { Int($0) })
        }
    }

    private func loadVocabulary(_ name: String) throws -> PretrainedTokenizer {
        let url = Self.folder.appendingPathComponent("ggml-vocab-\(name).gguf")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) missing: run Scripts/fetch-tokenizer-vectors.sh")
        }
        return try TokenizerLoader.loadGGUF(url)
    }

    /// Checks every vector; returns the number that round-trip through decode.
    @discardableResult
    private func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let tokenizer = try loadVocabulary(name)
        let vectors = try Self.vectors(name)
        XCTAssertGreaterThan(vectors.count, 30, file: file, line: line)
        var failures = 0
        var roundTrips = 0
        for (text, expected) in vectors {
            let ids = tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: false)
            if ids != expected {
                failures += 1
                XCTFail("\(name): \(text.debugDescription)\n  got      \(ids)\n  expected \(expected)", file: file, line: line)
            }
            if tokenizer.decode(ids, skipSpecialTokens: false) == text { roundTrips += 1 }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) of \(vectors.count) vectors differ", file: file, line: line)
        return roundTrips
    }

    /// A GGUF vocabulary exported as Hugging Face files loads back into a tokenizer with the same ids.
    func testExportedTokenizerJSONPassesVectors() throws {
        for name in ["gpt-2", "qwen2", "llama-bpe"] {
            let url = Self.folder.appendingPathComponent("ggml-vocab-\(name).gguf")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw XCTSkip("\(url.path) missing: run Scripts/fetch-tokenizer-vectors.sh")
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-export-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try TokenizerExport.copy(from: url, to: folder)
            let tokenizer = try TokenizerLoader.loadTokenizerJSON(folder.appendingPathComponent("tokenizer.json"))
            for (text, expected) in try Self.vectors(name) {
                XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: false), expected,
                               "\(name) exported: \(text.debugDescription)")
            }
        }
    }

    func testGPT2() throws {
        XCTAssertEqual(try check("gpt-2"), try Self.vectors("gpt-2").count, "byte-level BPE decodes losslessly")
    }

    func testQwen2() throws {
        XCTAssertEqual(try check("qwen2"), try Self.vectors("qwen2").count)
    }

    func testLlama3() throws {
        XCTAssertEqual(try check("llama-bpe"), try Self.vectors("llama-bpe").count)
    }

    func testDeepSeekLLM() throws {
        XCTAssertEqual(try check("deepseek-llm"), try Self.vectors("deepseek-llm").count)
    }

    func testDeepSeekCoder() throws {
        XCTAssertEqual(try check("deepseek-coder"), try Self.vectors("deepseek-coder").count)
    }

    func testLlamaSentencePiece() throws {
        // The dummy-prefix space is removed again when decoding, so every string round-trips.
        XCTAssertEqual(try check("llama-spm"), try Self.vectors("llama-spm").count)
    }
}
