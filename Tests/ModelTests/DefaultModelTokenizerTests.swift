import Foundation
import Model
import TestSupport
import XCTest

/// The tokenizer of the default model (Qwen2.5-Coder-0.5B-Instruct GGUF, fetched by
/// Scripts/fetch-default-model.sh) against transformers' tokenizer for the same file
/// (prompt ids and decoded greedy continuations in Fixtures/qwen-reference.json).
final class DefaultModelTokenizerTests: XCTestCase {
    struct Reference: Decodable {
        let text: String
        let ids: [Int]
        let greedy: [Int]
        let greedy_text: String
    }

    func testMatchesTransformers() throws {
        guard let model = Fixtures.defaultModel else {
            throw XCTSkip("default model missing: run Scripts/fetch-default-model.sh")
        }
        let tokenizer = try TokenizerLoader.loadPretrained(from: model)
        XCTAssertEqual(tokenizer.vocabularySize, 151_936)
        XCTAssertEqual(tokenizer.bosTokenID, 151_643)
        XCTAssertEqual(tokenizer.eosTokenID, 151_645)
        XCTAssertEqual(tokenizer.padTokenID, 151_643)
        XCTAssertEqual(tokenizer.tokenID(for: "<|im_end|>"), 151_645)
        XCTAssertTrue(tokenizer.isSpecial(151_644))
        XCTAssertEqual(tokenizer.chatTemplate?.contains("<|im_start|>"), true)
        XCTAssertTrue(tokenizer.summary.contains("qwen2"), tokenizer.summary)

        let url = Fixtures.url("ModelTests", "qwen-reference.json")
        let references = try JSONDecoder().decode([String: Reference].self, from: Data(contentsOf: url))
        XCTAssertEqual(references.count, 4)
        for (name, reference) in references {
            XCTAssertEqual(tokenizer.encode(reference.text, addSpecialTokens: false), reference.ids, name)
            XCTAssertEqual(tokenizer.encode(reference.text, addSpecialTokens: true), reference.ids, "\(name): Qwen adds no BOS")
            XCTAssertEqual(tokenizer.decode(reference.greedy, skipSpecialTokens: false), reference.greedy_text, name)
            XCTAssertEqual(tokenizer.decode(reference.ids, skipSpecialTokens: false), reference.text, name)
        }
    }
}
