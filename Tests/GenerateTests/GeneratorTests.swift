import Foundation
import Generate
import Model
import PEFT
import Tensor
import TestSupport
import XCTest

/// The generation loop on a tiny transformers-made Llama (vocabulary 96, byte ids) with the mock tokenizer.
final class GeneratorTests: XCTestCase {
    private func generator() throws -> Generator {
        Generator(model: try LanguageModel.loadModel(from: Fixtures.tinyModel("llama")), tokenizer: MockTokenizer())
    }

    private var greedy: GenerationConfig {
        var c = GenerationConfig.greedy
        c.maxNewTokens = 12
        return c
    }

    /// Greedy decoding with the KV cache equals argmax over a full recomputation at every step.
    func testGreedyWithCacheEqualsArgmaxOfRecompute() throws {
        let g = try generator()
        let prompt = [72, 10, 33, 5, 90]
        let result = try g.generate(promptTokens: prompt, config: greedy)
        XCTAssertEqual(result.tokenIDs.count, 12)
        XCTAssertEqual(result.finishReason, .length)
        var seq = prompt
        for expected in result.tokenIDs {
            let logits = try g.model.forward(ModelInput(tokens: seq, logits: .last), cache: nil).scalars
            let argmax = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
            XCTAssertEqual(argmax, expected)
            seq.append(argmax)
        }
    }

    /// A batch of prompts of different lengths gives what each prompt gives alone — greedy and sampled.
    func testBatchEqualsOneByOne() throws {
        let g = try generator()
        let prompts = [[1, 2, 3, 4, 5, 6, 7], [40, 41], [88, 12, 9, 70]]
        var sampled = GenerationConfig(maxNewTokens: 10, temperature: 0.8, topK: 20, topP: 0.9)
        sampled.seed = 1234
        for config in [greedy, sampled] {
            let batch = try g.generateBatch(promptTokens: prompts, config: config)
            for (p, b) in zip(prompts, batch) {
                XCTAssertEqual(try g.generate(promptTokens: p, config: config).tokenIDs, b.tokenIDs)
            }
        }
    }

    /// Per-request adapter choice without reloading; the model's own active adapter is restored.
    func testPerRequestAdapters() throws {
        let g = try generator()
        try Adapters.load(from: Fixtures.url("PEFTTests", "peft-adapter"), into: g.model, name: "tuned")
        let prompt = [3, 14, 15, 92, 65]
        let tuned = try g.generate(promptTokens: prompt, config: greedy, adapter: .named("tuned")).tokenIDs
        let base = try g.generate(promptTokens: prompt, config: greedy, adapter: .none).tokenIDs
        XCTAssertNotEqual(tuned, base, "the adapter changes greedy output on this prompt")
        XCTAssertEqual(try g.generate(promptTokens: prompt, config: greedy).tokenIDs, tuned, "active adapter restored")
        try Adapters.setActiveAdapter(nil, in: g.model)
        XCTAssertEqual(try g.generate(promptTokens: prompt, config: greedy).tokenIDs, base)
        XCTAssertThrowsError(try g.generate(promptTokens: prompt, config: greedy, adapter: .named("missing")))
    }

    func testStopStringsAndCallbacksAndBadPrompts() throws {
        let g = try generator()
        let prompt = [72, 10, 33, 5, 90]
        let full = try g.generate(promptTokens: prompt, config: greedy)
        // Stop on the text of generated tokens 3–4: the result ends before it.
        let stopText = String(decoding: full.tokenIDs[3..<5].flatMap { MockTokenizer().bytes(forToken: $0) }, as: UTF8.self)
        guard !stopText.isEmpty, let range = full.text.range(of: stopText) else { throw XCTSkip("no printable stop text") }
        var config = greedy
        config.stopStrings = [stopText]
        let stopped = try g.generate(promptTokens: prompt, config: config)
        XCTAssertEqual(stopped.finishReason, .stopString(stopText))
        XCTAssertEqual(stopped.text, String(full.text[..<range.lowerBound]))
        var seen = 0
        let cancelled = try g.generate(promptTokens: prompt, config: greedy) { _ in seen += 1; return seen < 3 }
        XCTAssertEqual(cancelled.finishReason, .cancelled)
        XCTAssertEqual(cancelled.tokenIDs.count, 3)
        XCTAssertThrowsError(try g.generate(promptTokens: [], config: greedy))
        XCTAssertThrowsError(try g.generate(promptTokens: [Int](repeating: 1, count: 64), config: greedy))
    }

    func testStreamingDeliversTheSameText() async throws {
        let g = try generator()
        let expected = try g.generate(prompt: "A5", config: greedy)
        var streamed = ""
        for try await piece in g.stream(prompt: "A5", config: greedy).textDeltas { streamed += piece }
        XCTAssertEqual(streamed, expected.text)
    }
}
