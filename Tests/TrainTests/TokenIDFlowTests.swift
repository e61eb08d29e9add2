import Generate
import Model
import TestSupport
import Tensor
import Train
import XCTest

/// Token ids have one type, `Int`, from the tokenizer through the model, the data pipeline and the
/// generator, so a caller passes them along without conversions (before, `ModelInput` and the
/// batches took `Int32` while the tokenizer and generator gave `Int`).
final class TokenIDFlowTests: XCTestCase {
    private let tinyQwen = Fixtures.url("GenerateTests", "cli/tiny-qwen2")

    func testTokenizerIdsFeedTheModelTheBatchesAndTheGeneratorAsTheyAre() throws {
        let (model, tokenizer) = try LanguageModel.load(from: tinyQwen)
        let prompt: [Int] = tokenizer.encode("the cat sat", addSpecialTokens: false)
        XCTAssertGreaterThan(prompt.count, 1)

        // Generator → model: the generated ids continue the prompt in a plain forward pass.
        var config = GenerationConfig.greedy
        config.maxNewTokens = 3
        config.stopTokenIDs = []
        let generated = try Generator(model: model, tokenizer: tokenizer).generate(promptTokens: prompt, config: config)
        let sequence = prompt + generated.tokenIDs
        let logits = try GradientMode.withoutGradients {
            try model.forward(ModelInput(tokens: sequence, logits: .rows(Array((prompt.count - 1)..<(sequence.count - 1)))))
        }
        let greedy = logits.withUnsafeBufferPointer { TokenAccuracy.argmax(logits: $0, vocabularySize: logits.shape[1]) }
        XCTAssertEqual(greedy, Array(generated.tokenIDs.prefix(greedy.count)), "greedy ids are the argmax of the same model's logits")

        // Tokenizer → example → batch → model: the batch's ids are the tokenizer's, unchanged.
        let example = TokenizedExample(inputIDs: sequence, labels: [TokenizedExample.ignoreIndex] + sequence.dropFirst())
        let batch = try Batcher(examples: [example], options: BatchingOptions(batchSize: 1, groupByLength: false, shuffle: false),
                                maxSequenceLength: 64, padTokenID: tokenizer.padTokenID ?? 0, seed: 0).batches(epoch: 0, seed: 0)[0]
        XCTAssertEqual(Array(batch.inputIDs.prefix(sequence.count)), sequence)
        XCTAssertEqual(tokenizer.decode(Array(batch.inputIDs.prefix(prompt.count))), tokenizer.decode(prompt))
        let scores = try TeacherForcedEvaluator.evaluate(model, on: FixedBatches([batch]))
        XCTAssertEqual(scores.targetTokens, sequence.count - 1)
    }

    func testIdsBeyondThe32BitRangeAreTypedErrorsNotTraps() throws {
        let model = try LanguageModel.loadModel(from: tinyQwen)
        for bad in [Int(Int32.max) + 1, Int.max, Int.min] {
            XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, bad]))) {
                XCTAssertEqual($0 as? ModelInputError, .tokenOutOfRange(id: bad, vocabularySize: model.description.vocabularySize))
            }
            XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, 2], positions: [0, bad]))) {
                guard case ModelInputError.positionOutOfRange(bad, _)? = $0 as? ModelInputError else { return XCTFail("\($0)") }
            }
        }
    }
}
