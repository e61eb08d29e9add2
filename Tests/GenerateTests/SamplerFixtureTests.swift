import Foundation
import XCTest
import Generate

/// Compares `Sampler.processedLogits` with transformers' own logits processors
/// (fixture written by Tools/make_sampling_fixtures.py).
final class SamplerFixtureTests: XCTestCase {
    struct Fixture: Decodable {
        struct Settings: Decodable {
            var repetition_penalty: Float?
            var temperature: Float?
            var top_k: Int?
            var top_p: Float?
            var min_p: Float?
        }
        struct Case: Decodable {
            var name: String
            var kind: String
            var logits: [Float]
            var input_ids: [Int]
            var settings: Settings
            var processors: [String]?
            var expected: [Float?]
        }
        var transformers: String
        var cases: [Case]
    }

    static func loadFixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sampling_processors.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    static func config(_ s: Fixture.Settings) -> GenerationConfig {
        GenerationConfig(temperature: s.temperature ?? 1, topK: s.top_k ?? 0, topP: s.top_p ?? 1,
                         minP: s.min_p ?? 0, repetitionPenalty: s.repetition_penalty ?? 1, seed: 1)
    }

    func testMatchesTransformersProcessors() throws {
        let fixture = try Self.loadFixture()
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 20)
        for c in fixture.cases {
            // The penalty sees the whole input (prompt + generated); here all of it is the prompt.
            let sampler = try Sampler(config: Self.config(c.settings), prompt: c.input_ids)
            let processed = try sampler.processedLogits(c.logits)
            XCTAssertEqual(processed.count, c.expected.count, c.name)
            for (i, (mine, theirs)) in zip(processed, c.expected).enumerated() {
                if let theirs {
                    XCTAssertEqual(mine, theirs, accuracy: 1e-6 * max(1, abs(theirs)), "\(c.name) token \(i)")
                } else {
                    XCTAssertEqual(mine, -.infinity, "\(c.name) token \(i) should be removed")
                }
            }
        }
    }

    func testSamplingDrawsOnlyFromTheTokensTransformersKeeps() throws {
        for c in try Self.loadFixture().cases {
            let kept = Set(c.expected.indices.filter { c.expected[$0] != nil })
            var sampler = try Sampler(config: Self.config(c.settings), prompt: c.input_ids)
            for _ in 0..<300 {
                let token = try sampler.sampleToken(from: c.logits)
                XCTAssertTrue(kept.contains(token), "\(c.name) sampled removed token \(token)")
                sampler.reset(prompt: c.input_ids)  // keep the penalty state of the fixture
            }
        }
    }

    func testTransformersAppliesProcessorsInTheSamplersOrder() throws {
        let order = ["RepetitionPenaltyLogitsProcessor", "TemperatureLogitsWarper", "TopKLogitsWarper",
                     "TopPLogitsWarper", "MinPLogitsWarper"]
        let pipelines = try Self.loadFixture().cases.filter { $0.kind == "pipeline" }
        XCTAssertFalse(pipelines.isEmpty)
        for c in pipelines {
            let names = try XCTUnwrap(c.processors)
            XCTAssertEqual(names, order.filter(names.contains), c.name)
        }
    }
}
