import Foundation
import Model
import TestSupport
import XCTest

/// Small tokenizers trained with Hugging Face `tokenizers` by Tools/make_tokenizer_fixtures.py, with the
/// ids, ids with special tokens, ids without special-token parsing, and decoded text that library produced.
final class TokenizerFixtureTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_with_special: [Int]
        let ids_special_not_parsed: [Int]
        let decoded: String
        let decoded_skipping_special: String
    }

    struct Expected: Decodable {
        let cases: [Case]
    }

    static func folder(_ name: String) -> URL { Fixtures.url("ModelTests", "tokenizers/\(name)") }

    private func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> PretrainedTokenizer {
        let folder = Self.folder(name)
        let tokenizer = try TokenizerLoader.loadPretrained(from: folder)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        XCTAssertGreaterThanOrEqual(expected.cases.count, 50, file: file, line: line)
        var mismatches = 0
        for item in expected.cases {
            let label = "\(name): \(item.text.debugDescription)"
            let plain = tokenizer.encode(item.text, addSpecialTokens: false)
            let special = tokenizer.encode(item.text, addSpecialTokens: true)
            let unparsed = tokenizer.encode(item.text, addSpecialTokens: false, parseSpecialTokens: false)
            if plain != item.ids || special != item.ids_with_special || unparsed != item.ids_special_not_parsed { mismatches += 1 }
            XCTAssertEqual(plain, item.ids, "\(label) ids", file: file, line: line)
            XCTAssertEqual(special, item.ids_with_special, "\(label) ids with special tokens", file: file, line: line)
            XCTAssertEqual(unparsed, item.ids_special_not_parsed, "\(label) ids without special-token parsing", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(item.ids_with_special, skipSpecialTokens: false), item.decoded,
                           "\(label) decoded", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(item.ids_with_special, skipSpecialTokens: true), item.decoded_skipping_special,
                           "\(label) decoded without special tokens", file: file, line: line)
        }
        XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(expected.cases.count) strings differ", file: file, line: line)
        return tokenizer
    }

    func testLlama3StyleByteLevel() throws {
        let tokenizer = try check("bytelevel-llama3")
        XCTAssertEqual(tokenizer.bosTokenID, tokenizer.tokenID(for: "<|begin_of_text|>"))
        XCTAssertEqual(tokenizer.eosTokenID, tokenizer.tokenID(for: "<|end_of_text|>"))
        XCTAssertNil(tokenizer.padTokenID)
        XCTAssertEqual(tokenizer.chatTemplate?.hasPrefix("{% for message in messages %}"), true)
        XCTAssertTrue(tokenizer.isSpecial(try XCTUnwrap(tokenizer.tokenID(for: "<|im_end|>"))))
        XCTAssertFalse(tokenizer.isSpecial(try XCTUnwrap(tokenizer.tokenID(for: "<tool>"))), "non-special added token")
        XCTAssertEqual(tokenizer.vocabularySize, 642)
    }

    func testQwen2StyleByteLevelWithNFC() throws {
        let tokenizer = try check("bytelevel-qwen2")
        XCTAssertNil(tokenizer.bosTokenID)
        XCTAssertEqual(tokenizer.eosTokenID, tokenizer.tokenID(for: "<|im_end|>"))
        XCTAssertEqual(tokenizer.padTokenID, tokenizer.tokenID(for: "<|endoftext|>"))
        XCTAssertEqual(tokenizer.chatTemplate?.contains("<|im_start|>"), true, "the 'default' named template")
        // NFC: a decomposed é encodes like the precomposed one.
        XCTAssertEqual(tokenizer.encode("e\u{301}", addSpecialTokens: false), tokenizer.encode("\u{E9}", addSpecialTokens: false))
    }

    func testGPT2StyleByteLevel() throws {
        let tokenizer = try check("bytelevel-gpt2")
        XCTAssertNil(tokenizer.bosTokenID)
        XCTAssertNil(tokenizer.chatTemplate)
    }

    func testDeepSeekStyleByteLevel() throws {
        let tokenizer = try check("bytelevel-deepseek")
        XCTAssertEqual(tokenizer.bosTokenID, 0)
        XCTAssertEqual(tokenizer.eosTokenID, 1)
    }

    func testSentencePieceStyleWithPrependNormalizer() throws {
        let tokenizer = try check("sentencepiece-llama2")
        XCTAssertEqual(tokenizer.bosTokenID, 1)
        XCTAssertEqual(tokenizer.eosTokenID, 2)
        XCTAssertEqual(tokenizer.bytes(forToken: try XCTUnwrap(tokenizer.tokenID(for: "<0x0A>"))), [0x0A])
    }

    func testSentencePieceStyleWithMetaspace() throws {
        _ = try check("sentencepiece-metaspace")
    }

    /// Concatenating `bytes(forToken:)` rebuilds the text even when tokens split UTF-8 characters.
    func testTokenBytesRebuildText() throws {
        let tokenizer = try TokenizerLoader.loadPretrained(from: Self.folder("bytelevel-gpt2"))
        let text = "🦙 ϴ 我想在 — naïve\u{0} \u{10FFFF}"
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        let pieces = ids.map { tokenizer.bytes(forToken: $0) }
        XCTAssertTrue(pieces.contains { String(validatingUTF8: $0.map { CChar(bitPattern: $0) } + [0]) == nil },
                      "some token holds part of a character")
        XCTAssertEqual(String(decoding: pieces.flatMap { $0 }, as: UTF8.self), text)
        XCTAssertEqual(tokenizer.bytes(forToken: -1), [])
        XCTAssertEqual(tokenizer.bytes(forToken: tokenizer.vocabularySize), [])
        XCTAssertEqual(tokenizer.decode([-5, 99_999]), "", "unknown ids are ignored")
    }

    /// Encoding is deterministic with the shared piece cache, also from several threads at once.
    func testConcurrentEncodingMatchesSerial() throws {
        let tokenizer = try TokenizerLoader.loadPretrained(from: Self.folder("bytelevel-llama3"))
        let texts = (0..<64).map { "sample \($0): Hello, wörld! <|im_start|>user \($0 * 7919) 🚀 tokens\n" }
        let serial = texts.map { tokenizer.encode($0) }
        let results = LockedArray(count: texts.count)
        DispatchQueue.concurrentPerform(iterations: texts.count) { index in
            results.set(index, tokenizer.encode(texts[index]))
        }
        XCTAssertEqual(results.values, serial)
        XCTAssertEqual(texts.map { tokenizer.encode($0) }, serial, "cached results are the same")
    }
}

/// A thread-safe array of results for the concurrency test.
final class LockedArray: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [[Int]]
    init(count: Int) { storage = Array(repeating: [], count: count) }
    func set(_ index: Int, _ value: [Int]) { lock.lock(); storage[index] = value; lock.unlock() }
    var values: [[Int]] { lock.lock(); defer { lock.unlock() }; return storage }
}
