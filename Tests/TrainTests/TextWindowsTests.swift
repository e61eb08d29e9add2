import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// General text cut into windows and scored teacher-forced: the forgetting measurement.
final class TextWindowsTests: XCTestCase {
    private let tinyQwen = Fixtures.url("GenerateTests", "cli/tiny-qwen2")
    private let generalText = Fixtures.testsRoot.deletingLastPathComponent().appendingPathComponent("Examples/Data/general/general.txt")

    func testWindowsCoverTheTokensOnceWithoutOverlap() throws {
        let windows = try TextWindows.examples(tokens: Array(0..<11), length: 4)
        XCTAssertEqual(windows.map(\.inputIDs), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]])
        XCTAssertEqual(windows.map(\.labels), [[-100, 1, 2, 3], [-100, 5, 6, 7], [-100, 9, 10]])
        XCTAssertEqual(windows.reduce(0) { $0 + $1.targetTokenCount }, 11 - 3, "every token but a window's first is a target")
        // A 1-token remainder predicts nothing and is dropped.
        XCTAssertEqual(try TextWindows.examples(tokens: Array(0..<9), length: 4).map(\.count), [4, 4])
    }

    func testBadWindowsAreTypedErrors() {
        XCTAssertThrowsError(try TextWindows.examples(tokens: [1, 2, 3], length: 1)) {
            guard case .invalidConfiguration = $0 as? DataError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try TextWindows.examples(tokens: [7], length: 8)) {
            guard case .noUsableExamples = $0 as? DataError else { return XCTFail("\($0)") }
        }
        for bad in [-3, Int.min] {
            XCTAssertThrowsError(try TextWindows.examples(tokens: [1, bad, 2], length: 8), "\(bad)") {
                XCTAssertEqual($0 as? DataError, .invalidConfiguration("token id \(bad) is negative"))
            }
        }
    }

    func testGeneralTextPerplexityIsTheMeanOverEveryWindowCappedAtTheContext() throws {
        let (model, tokenizer) = try LanguageModel.load(from: tinyQwen)
        let text = try String(contentsOf: generalText, encoding: .utf8)
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        let scores = try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: 100, batchSize: 3)
        // Reference: every window alone, unpadded, its logits scored against the next tokens.
        var sum = 0.0, count = 0
        try GradientMode.withoutGradients {
            for start in stride(from: 0, to: ids.count, by: 100) {
                let window = Array(ids[start..<min(start + 100, ids.count)])
                guard window.count >= 2 else { continue }
                let logits = try model.forward(ModelInput(tokens: window, logits: .rows(Array(0..<(window.count - 1)))), cache: nil)
                sum += Double(Tensor.crossEntropy(logits: logits, targets: window.dropFirst().map(Int32.init), normalizer: 1).item)
                count += window.count - 1
            }
        }
        XCTAssertGreaterThan(ids.count, 1000, "the shipped text is a few thousand tokens")
        XCTAssertEqual(scores.targetTokens, count)
        XCTAssertEqual(scores.loss, sum / Double(count), accuracy: 1e-5)
        XCTAssertEqual(scores.perplexity, exp(scores.loss), accuracy: 1e-6 * scores.perplexity)
        // Windows longer than the model's context (256 positions) are cut to it.
        let capped = try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: 100_000, batchSize: 2)
        let atContext = try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: 256, batchSize: 2)
        XCTAssertEqual(capped, atContext)
        XCTAssertEqual(capped.targetTokens, ids.count / 256 * 255 + max(0, ids.count % 256 - 1))
    }

    func testAnAdapterChangesTheGeneralPerplexityAndSwitchingItOffRestoresTheBase() throws {
        let (model, tokenizer) = try LanguageModel.load(from: tinyQwen)
        let text = try String(contentsOf: generalText, encoding: .utf8)
        let base = try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: 128)
        try Adapters.apply(LoRAConfiguration(rank: 4, targetModules: .names(["q_proj", "v_proj"]), initialization: .gaussian), to: model, seed: 5)
        // Non-zero B as well as A, as after training.
        for (_, p) in model.namedParameters() where p.isTrainable { try p.assign(Tensor.full(p.shape, 0.05)) }
        let adapted = try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: 128)
        XCTAssertNotEqual(adapted.loss, base.loss, accuracy: 1e-5, "a non-zero adapter changes the scores")
        let bypassed = try AdapterRouting.$selection.withValue(.base) {
            try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: 128)
        }
        XCTAssertEqual(bypassed.loss, base.loss, accuracy: 1e-9)
    }
}
