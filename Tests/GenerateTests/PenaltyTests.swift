import XCTest
import Generate

/// Repetition (transformers), frequency and presence (OpenAI) penalties, checked against their definitions.
final class PenaltyTests: XCTestCase {
    let logits: [Float] = [2.0, -1.0, 0.5, -3.0, 4.0, 0.0, 1.5]

    func testRepetitionPenaltyDividesPositiveAndMultipliesNegativeOncePerToken() throws {
        // Prompt has 0, 1 and 1 again; generated 4 twice. Each distinct id is penalised once.
        var sampler = try Sampler(config: GenerationConfig(temperature: 0, repetitionPenalty: 2), prompt: [0, 1, 1])
        sampler.record(4)
        sampler.record(4)
        let out = try sampler.processedLogits(logits)
        XCTAssertEqual(out, [1.0, -2.0, 0.5, -3.0, 2.0, 0.0, 1.5])
    }

    func testFrequencyAndPresencePenaltiesCountGeneratedTokensOnly() throws {
        let config = GenerationConfig(temperature: 0, frequencyPenalty: 0.5, presencePenalty: 0.25)
        var sampler = try Sampler(config: config, prompt: [0, 2])  // the prompt does not count
        for id in [4, 4, 4, 1, 6] { sampler.record(id) }
        let out = try sampler.processedLogits(logits)
        let frequency: Float = 0.5, presence: Float = 0.25
        let expected: [Float] = [2.0, -1.0 - frequency - presence, 0.5, -3.0, 4.0 - 3 * frequency - presence, 0.0,
                                 1.5 - frequency - presence]
        XCTAssertEqual(out, expected)
    }

    func testRepetitionPenaltyComesBeforeFrequencyPenalty() throws {
        let config = GenerationConfig(temperature: 0, repetitionPenalty: 2, frequencyPenalty: 1)
        var sampler = try Sampler(config: config)
        sampler.record(0)
        sampler.record(3)
        let out = try sampler.processedLogits(logits)
        XCTAssertEqual(out[0], 2.0 / 2 - 1)
        XCTAssertEqual(out[3], -3.0 * 2 - 1)
    }

    func testRewardingPenaltyBelowOneAndOutOfRangeIdsIgnored() throws {
        let sampler = try Sampler(config: GenerationConfig(temperature: 0, repetitionPenalty: 0.5), prompt: [4, 3, 99, -1])
        let out = try sampler.processedLogits(logits)
        XCTAssertEqual(out, [2.0, -1.0, 0.5, -1.5, 8.0, 0.0, 1.5])
    }

    func testSampledTokensEnterTheHistory() throws {
        var sampler = try Sampler(config: GenerationConfig(temperature: 0, frequencyPenalty: 10))
        XCTAssertEqual(try sampler.sampleToken(from: logits), 4)
        XCTAssertEqual(sampler.history.generatedCounts, [4: 1])
        XCTAssertEqual(try sampler.sampleToken(from: logits), 0)  // 4 now sits at 4 - 10
        XCTAssertEqual(sampler.history.generatedCount, 2)
    }

    func testSampledPathAppliesPenaltiesToo() throws {
        // With top-k 1 the only survivor after a strong penalty on token 4 is token 0.
        var sampler = try Sampler(config: GenerationConfig(temperature: 1, topK: 1, repetitionPenalty: 100, seed: 1),
                                  prompt: [4])
        XCTAssertEqual(try sampler.sampleToken(from: logits), 0)
    }
}
