import Foundation
import Generate
import Model
import TestSupport
import XCTest

/// Prompt ids are validated before use, and a generator works without a tokenizer for id prompts.
final class GeneratorInputTests: XCTestCase {
    private func model() throws -> any CausalLanguageModel { try LanguageModel.loadModel(from: Fixtures.tinyModel("llama")) }

    func testIdsOutsideTheVocabularyAreTypedErrors() throws {
        let g = Generator(model: try model(), tokenizer: MockTokenizer())
        for bad in [Int(Int32.max) + 1, Int.max, Int.min, -1, 96] {
            XCTAssertThrowsError(try g.generate(promptTokens: [5, bad, 7]), "id \(bad)") { error in
                guard case GenerationError.invalidPrompt = error else { return XCTFail("id \(bad): \(error)") }
            }
            XCTAssertThrowsError(try g.generateBatch(promptTokens: [[1, 2], [bad]]), "batched id \(bad)")
        }
    }

    func testGeneratorWithoutTokenizerRunsIdPrompts() throws {
        let m = try model()
        var config = GenerationConfig.greedy
        config.maxNewTokens = 6
        let withTokenizer = try Generator(model: m, tokenizer: MockTokenizer()).generate(promptTokens: [72, 10, 33], config: config)
        let idsOnly = Generator(model: m)
        let result = try idsOnly.generate(promptTokens: [72, 10, 33], config: config)
        XCTAssertEqual(result.tokenIDs.count, 6)
        XCTAssertEqual(result.tokenIDs, withTokenizer.tokenIDs, "the same greedy ids (the mock's EOS is outside the vocabulary)")
        XCTAssertEqual(result.text, "")
        XCTAssertThrowsError(try idsOnly.generate(prompt: "hello")) {
            guard case GenerationError.invalidConfig = $0 else { return XCTFail("\($0)") }
        }
        config.stopStrings = ["x"]
        XCTAssertThrowsError(try idsOnly.generate(promptTokens: [1, 2], config: config))
    }

    func testForwardWithoutCacheArgument() throws {
        let m = try model()
        XCTAssertEqual(try m.forward(ModelInput(tokens: [1, 2, 3])).scalars, try m.forward(ModelInput(tokens: [1, 2, 3]), cache: nil).scalars)
    }
}
