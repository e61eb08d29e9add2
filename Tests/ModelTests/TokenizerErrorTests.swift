import Foundation
import Model
import TestSupport
import XCTest

/// Malformed or unsupported tokenizer files give typed `TokenizerError`s that name the problem.
final class TokenizerErrorTests: XCTestCase {
    private let minimalModel = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#

    private func assertJSONError(_ json: String, config: String? = nil, _ expected: TokenizerError,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TokenizerLoader.loadTokenizerJSON(data: Data(json.utf8), config: config.map { Data($0.utf8) }),
                             file: file, line: line) { error in
            XCTAssertEqual(error as? TokenizerError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty, file: file, line: line)
        }
    }

    func testMinimalTokenizerJSONLoads() throws {
        let tokenizer = try TokenizerLoader.loadTokenizerJSON(data: Data("{\(minimalModel)}".utf8))
        XCTAssertEqual(tokenizer.encode("abab", addSpecialTokens: true), [2, 2])
        XCTAssertEqual(tokenizer.encode("ba", addSpecialTokens: true), [1, 0])
    }

    func testNotJSON() {
        assertJSONError("{\"model\": ", .malformedJSON(file: "tokenizer.json", reason: "not valid JSON"))
        assertJSONError("[1, 2]", .malformedJSON(file: "tokenizer.json", reason: "the top level is not an object"))
        assertJSONError("{\(minimalModel)}", config: "{oops", .malformedJSON(file: "tokenizer_config.json", reason: "not valid JSON"))
    }

    func testMissingKeys() {
        assertJSONError("{}", .missingKey("model"))
        assertJSONError(#"{"model": {"type": "BPE", "merges": []}}"#, .missingKey("model.vocab"))
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": 0}}}"#, .missingKey("model.merges"))
        assertJSONError(#"{\#(minimalModel), "post_processor": {"type": "TemplateProcessing"}}"#, .missingKey("post_processor.single"))
    }

    func testInvalidValues() {
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#,
                        .invalidValue(key: "model.vocab[a]", reason: "expected a non-negative integer id"))
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": true}, "merges": []}}"#,
                        .invalidValue(key: "model.vocab[a]", reason: "expected a non-negative integer id"))
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}}"#,
                        .invalidValue(key: "model.merges[0]", reason: "expected \"a b\" or [\"a\", \"b\"]"))
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#,
                        .invalidValue(key: "model.vocab", reason: "empty vocabulary"))
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1000000000}, "merges": []}}"#,
                        .invalidValue(key: "model.vocab", reason: "id 1000000000 is far beyond the 2 tokens"))
        assertJSONError(#"{\#(minimalModel), "added_tokens": [{"content": "<x>"}]}"#,
                        .invalidValue(key: "added_tokens[0]", reason: "expected {\"id\": Int, \"content\": String, …}"))
    }

    func testUnsupportedModelsAndComponents() {
        assertJSONError(#"{"model": {"type": "WordPiece", "vocab": {}}}"#, .unsupportedModel("WordPiece"))
        assertJSONError(#"{"model": {"type": "Unigram", "vocab": []}}"#, .unsupportedModel("Unigram"))
        assertJSONError(###"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "continuing_subword_prefix": "##"}}"###,
                        .unsupportedModel("BPE with continuing_subword_prefix '##'"))
        assertJSONError(#"{\#(minimalModel), "pre_tokenizer": {"type": "BertPreTokenizer"}}"#, .unsupportedPreTokenizer("BertPreTokenizer"))
        assertJSONError(#"{\#(minimalModel), "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s"}, "behavior": "Removed"}}"#,
                        .unsupportedPreTokenizer("Split with behavior removed"))
        assertJSONError(#"{\#(minimalModel), "normalizer": {"type": "BertNormalizer"}}"#, .unsupportedNormalizer("BertNormalizer"))
        assertJSONError(#"{\#(minimalModel), "normalizer": {"type": "Replace", "pattern": {"Regex": " +"}, "content": " "}}"#,
                        .unsupportedNormalizer("Replace with a regex pattern"))
        assertJSONError(#"{\#(minimalModel), "post_processor": {"type": "Mystery"}}"#, .unsupportedModel("post-processor Mystery"))
    }

    func testUnsupportedSplitPatterns() {
        for pattern in [#"(a|b)+"#, #"(?<=x)y"#, #"[a-z"#, #"\\s*"#, #"a+?"#, #"\\p{Lu}"#, #"[z-a]"#, #"\\d+"#] {
            let regex = pattern.replacingOccurrences(of: "\\\\", with: "\\")
            assertJSONError(#"{\#(minimalModel), "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\#(pattern)"}, "behavior": "Isolated"}}"#,
                            .unsupportedPattern(regex))
        }
    }

    func testMergeWithUnknownToken() {
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#, .mergeTokenNotInVocabulary("ab"))
        assertJSONError(#"{"model": {"type": "BPE", "vocab": {"a": 0, "ab": 1}, "merges": [["a", "b"]]}}"#, .mergeTokenNotInVocabulary("b"))
    }

    func testUnknownSpecialTokens() {
        assertJSONError("{\(minimalModel)}", config: #"{"eos_token": "</s>"}"#, .unknownSpecialToken("</s>"))
        assertJSONError(#"{\#(minimalModel), "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}]}}"#,
                        .unknownSpecialToken("<s>"))
    }

    func testFilesAndFolders() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        XCTAssertThrowsError(try TokenizerLoader.load(from: folder)) { error in
            XCTAssertEqual(error as? TokenizerError, .noTokenizerFound(folder: folder.path))
        }
        let missing = folder.appendingPathComponent("nothing.json")
        XCTAssertThrowsError(try TokenizerLoader.load(from: missing)) { error in
            XCTAssertEqual(error as? TokenizerError, .unreadableFile(path: missing.path, reason: "no such file or folder"))
        }
        // A .gguf that is not a GGUF container: the container parser's own typed error.
        let fake = folder.appendingPathComponent("model.gguf")
        try Data("not a gguf file at all".utf8).write(to: fake)
        XCTAssertThrowsError(try TokenizerLoader.load(from: fake)) { error in
            XCTAssertTrue(error is GGUFError, "\(error)")
        }
        // A folder with tokenizer.json loads it (and ignores other files).
        try Data("{\(minimalModel)}".utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        XCTAssertEqual(try TokenizerLoader.load(from: folder).encode("ab", addSpecialTokens: false), [2])
    }

    // MARK: - GGUF metadata

    private func ggufMetadata(model: String = "gpt2", pre: String? = "gpt-2") -> [String: GGUFValue] {
        var metadata: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string(model),
            "tokenizer.ggml.tokens": .array(["a", "b", "ab"].map { .string($0) }),
            "tokenizer.ggml.merges": .array([.string("a b")]),
        ]
        if let pre { metadata["tokenizer.ggml.pre"] = .string(pre) }
        return metadata
    }

    private func assertGGUFError(_ metadata: [String: GGUFValue], _ expected: TokenizerError,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TokenizerLoader.load(ggufMetadata: metadata), file: file, line: line) { error in
            XCTAssertEqual(error as? TokenizerError, expected, file: file, line: line)
        }
    }

    func testMinimalGGUFMetadataLoads() throws {
        let tokenizer = try TokenizerLoader.load(ggufMetadata: ggufMetadata())
        XCTAssertEqual(tokenizer.encode("abab", addSpecialTokens: true), [2, 2])
    }

    func testGGUFErrors() {
        var metadata = ggufMetadata()
        metadata["tokenizer.ggml.model"] = nil
        assertGGUFError(metadata, .missingKey("tokenizer.ggml.model"))
        assertGGUFError(ggufMetadata(model: "t5"), .unsupportedModel("t5"))
        assertGGUFError(ggufMetadata(pre: "no-such-pre"), .unsupportedPreTokenizer("no-such-pre"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.tokens"] = .array([.int32(1)])
        assertGGUFError(metadata, .invalidValue(key: "tokenizer.ggml.tokens", reason: "expected an array of strings"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.tokens"] = nil
        assertGGUFError(metadata, .missingKey("tokenizer.ggml.tokens"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.merges"] = nil
        assertGGUFError(metadata, .missingKey("tokenizer.ggml.merges"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.token_type"] = .array([.int32(1)])
        assertGGUFError(metadata, .invalidValue(key: "tokenizer.ggml.token_type", reason: "1 entries for 3 tokens"))
        metadata = ggufMetadata(model: "llama", pre: nil)
        metadata["tokenizer.ggml.scores"] = .array([.float32(0)])
        assertGGUFError(metadata, .invalidValue(key: "tokenizer.ggml.scores", reason: "1 entries for 3 tokens"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.add_bos_token"] = .string("yes")
        assertGGUFError(metadata, .invalidValue(key: "tokenizer.ggml.add_bos_token", reason: "expected a boolean"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.eos_token_id"] = .string("2")
        assertGGUFError(metadata, .invalidValue(key: "tokenizer.ggml.eos_token_id", reason: "expected an integer"))
        metadata = ggufMetadata()
        metadata["tokenizer.ggml.tokens"] = .array([])
        assertGGUFError(metadata, .invalidValue(key: "tokenizer.ggml.tokens", reason: "empty vocabulary"))
    }
}
