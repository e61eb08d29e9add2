import Foundation
import XCTest
import Generate

/// Statistical checks of the drawn tokens, with fixed seeds.
final class SamplerStatisticsTests: XCTestCase {
    static let logits: [Float] = [1.2, -0.3, 2.5, 0.0, 1.9, -1.4, 0.7, 2.2, -2.0, 0.4, 1.6, -0.8]

    static func softmax(_ values: [Float], temperature: Float = 1) -> [Double] {
        let top = Double(values.max()!)
        let e = values.map { exp((Double($0) - top) / Double(temperature)) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    /// Draws `draws` tokens (history reset each time, so penalties stay fixed) and returns counts per id.
    static func histogram(_ config: GenerationConfig, logits: [Float] = logits, draws: Int = 200_000) throws -> [Int] {
        var sampler = try Sampler(config: config)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws {
            counts[try sampler.sampleToken(from: logits)] += 1
            sampler.reset(prompt: [])
        }
        return counts
    }

    /// Asserts that only tokens of the support of `expected` were sampled, that every token expected at least
    /// 10 times was, and that each frequency is within 5 standard errors of its probability (plus 10 draws of
    /// slack, for the Poisson tail of tokens expected only a few times).
    func assertMatches(_ counts: [Int], _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) {
        let n = Double(counts.reduce(0, +))
        let sampled = Set(counts.indices.filter { counts[$0] > 0 })
        let support = Set(expected.indices.filter { expected[$0] > 0 })
        XCTAssertTrue(sampled.isSubset(of: support), "sampled \(sampled.subtracting(support).sorted()) outside the support",
                      file: file, line: line)
        XCTAssertTrue(support.filter { expected[$0] * n >= 10 }.isSubset(of: sampled), "a likely token was never sampled",
                      file: file, line: line)
        for (i, p) in expected.enumerated() where p > 0 {
            let se = (p * (1 - p) / n).squareRoot()
            XCTAssertEqual(Double(counts[i]) / n, p, accuracy: 5 * se + 10 / n, "token \(i)", file: file, line: line)
        }
    }

    /// Renormalises `probabilities` over `kept`.
    static func renormalised(_ probabilities: [Double], keeping kept: Set<Int>) -> [Double] {
        let z = kept.reduce(0.0) { $0 + probabilities[$1] }
        return probabilities.indices.map { kept.contains($0) ? probabilities[$0] / z : 0 }
    }

    /// The ids drawn at least once.
    static func sampled(_ counts: [Int]) -> Set<Int> { Set(counts.indices.filter { counts[$0] > 0 }) }

    static var ranked: [Int] { logits.indices.sorted { logits[$0] > logits[$1] } }

    func testTopKSamplesExactlyTheKHighest() throws {
        let counts = try Self.histogram(GenerationConfig(temperature: 1, topK: 4, seed: 7))
        let kept = Set(Self.ranked.prefix(4))
        XCTAssertEqual(Self.sampled(counts), kept)
        assertMatches(counts, Self.renormalised(Self.softmax(Self.logits), keeping: kept))
    }

    func testTopKAppliesAfterTemperature() throws {
        let counts = try Self.histogram(GenerationConfig(temperature: 0.5, topK: 3, seed: 8))
        let kept = Set(Self.ranked.prefix(3))
        XCTAssertEqual(Self.sampled(counts), kept)
        assertMatches(counts, Self.renormalised(Self.softmax(Self.logits, temperature: 0.5), keeping: kept))
    }

    func testTopPKeepsTheNucleusIncludingTheTokenCrossingP() throws {
        let p = Self.softmax(Self.logits)
        let order = Self.ranked
        // Choose top-p just above the mass of the best three: the fourth token crosses it and must stay,
        // the fifth must go.
        let massOfThree = order.prefix(3).reduce(0.0) { $0 + p[$1] }
        let topP = Float(massOfThree + 0.01)
        let counts = try Self.histogram(GenerationConfig(temperature: 1, topK: 0, topP: topP, seed: 9))
        XCTAssertEqual(Self.sampled(counts), Set(order.prefix(4)))
        assertMatches(counts, Self.renormalised(p, keeping: Set(order.prefix(4))))
        // Just below that mass, the third token already reaches top-p: exactly three remain.
        let tight = try Self.histogram(GenerationConfig(temperature: 1, topK: 0, topP: Float(massOfThree - 0.01), seed: 9))
        XCTAssertEqual(Self.sampled(tight), Set(order.prefix(3)))
        assertMatches(tight, Self.renormalised(p, keeping: Set(order.prefix(3))))
    }

    func testTopPSmallerThanTheTopTokenKeepsOnlyIt() throws {
        let counts = try Self.histogram(GenerationConfig(temperature: 1, topK: 0, topP: 0.05, seed: 10), draws: 2_000)
        XCTAssertEqual(counts[Self.ranked[0]], 2_000)
    }

    func testMinPKeepsTokensAboveTheScaledMaximum() throws {
        let p = Self.softmax(Self.logits, temperature: 1.5)
        let top = p.max()!
        let kept = Set(p.indices.filter { p[$0] >= 0.3 * top })
        XCTAssertTrue((3..<p.count).contains(kept.count), "the test needs min-p to remove some tokens")
        let counts = try Self.histogram(GenerationConfig(temperature: 1.5, topK: 0, minP: 0.3, seed: 11))
        XCTAssertEqual(Self.sampled(counts), kept)
        assertMatches(counts, Self.renormalised(p, keeping: kept))
    }

    func testTemperatureSamplesSoftmaxOfScaledLogits() throws {
        for (temperature, seed) in [(Float(0.4), UInt64(12)), (1.0, 13), (2.5, 14)] {
            let counts = try Self.histogram(GenerationConfig(temperature: temperature, topK: 0, seed: seed))
            assertMatches(counts, Self.softmax(Self.logits, temperature: temperature))
        }
    }

    func testCombinedFiltersSampleTheRenormalisedSurvivors() throws {
        let config = GenerationConfig(temperature: 0.8, topK: 6, topP: 0.9, minP: 0.05, seed: 15)
        let processed = try Sampler(config: config).processedLogits(Self.logits)
        let counts = try Self.histogram(config)
        assertMatches(counts, Self.softmax(processed))
    }

    func testUniformLogitsSampleUniformly() throws {
        let flat = [Float](repeating: 0.5, count: 10)
        let counts = try Self.histogram(GenerationConfig(temperature: 1, topK: 0, seed: 16), logits: flat)
        assertMatches(counts, [Double](repeating: 0.1, count: 10))
    }

    func testTemperatureZeroIsArgmaxWithLowestIdOnTies() throws {
        var sampler = try Sampler(config: .greedy)
        XCTAssertEqual(try sampler.sampleToken(from: Self.logits), 2)
        XCTAssertEqual(try sampler.sampleToken(from: [0.1, 3, -1, 3, 2] as [Float]), 1)
        XCTAssertEqual(try sampler.sampleToken(from: [.nan, -5, .nan, -4] as [Float]), 3)
        // Greedy ignores the filters: top-k 1 / top-p would not change the argmax anyway, and min-p 1 neither.
        var filtered = try Sampler(config: GenerationConfig(temperature: 0, topK: 1, topP: 0.1, minP: 1))
        XCTAssertEqual(try filtered.sampleToken(from: Self.logits), 2)
    }

    func testGreedyUsesPenalisedLogits() throws {
        // Token 2 (2.5) is in the prompt: 2.5 / 1.5 = 1.67 falls below token 7 (2.2).
        var sampler = try Sampler(config: GenerationConfig(temperature: 0, repetitionPenalty: 1.5), prompt: [2])
        XCTAssertEqual(try sampler.sampleToken(from: Self.logits), 7)
        // Now 7 was generated too: 2.2 / 1.5 = 1.47 < 1.9 (token 4).
        XCTAssertEqual(try sampler.sampleToken(from: Self.logits), 4)
    }

    func testSameSeedSameTokensDifferentSeedDifferentTokens() throws {
        func run(seed: UInt64) throws -> [Int] {
            let config = GenerationConfig(temperature: 1.3, topK: 8, topP: 0.95, repetitionPenalty: 1.1,
                                          frequencyPenalty: 0.2, seed: seed)
            var sampler = try Sampler(config: config, prompt: [1, 2, 3])
            return try (0..<500).map { _ in try sampler.sampleToken(from: Self.logits) }
        }
        XCTAssertEqual(try run(seed: 42), try run(seed: 42))
        XCTAssertNotEqual(try run(seed: 42), try run(seed: 43))
    }

    func testBufferEntryPointsAgree() throws {
        let config = GenerationConfig(temperature: 0.9, topK: 5, repetitionPenalty: 1.3, seed: 3)
        var a = try Sampler(config: config, prompt: [2, 7])
        var b = try Sampler(config: config, prompt: [2, 7])
        for _ in 0..<200 {
            var copy = Self.logits
            let viaMutable = try copy.withUnsafeMutableBufferPointer { try a.sampleToken(overwriting: $0) }
            let viaArray = try b.sampleToken(from: Self.logits)
            XCTAssertEqual(viaMutable, viaArray)
        }
    }

    func testNaNAndMinusInfinityAreNeverSampled() throws {
        var logits = Self.logits
        logits[2] = .nan
        logits[7] = -.infinity
        for config in [GenerationConfig(temperature: 1, topK: 0, seed: 1), GenerationConfig(temperature: 1, topK: 3, seed: 1),
                       GenerationConfig(temperature: 1, topK: 0, topP: 0.9, seed: 1),
                       GenerationConfig(temperature: 1, topK: 0, minP: 0.01, seed: 1)] {
            let counts = try Self.histogram(config, logits: logits, draws: 5_000)
            XCTAssertEqual(counts[2], 0)
            XCTAssertEqual(counts[7], 0)
        }
    }

    func testUnsampleableRowsThrow() throws {
        var sampler = try Sampler(config: GenerationConfig(seed: 1))
        XCTAssertThrowsError(try sampler.sampleToken(from: [Float]())) { XCTAssertEqual($0 as? GenerationError, .emptyLogits) }
        let dead: [Float] = [-.infinity, .nan, -.infinity]
        for config in [GenerationConfig.greedy, GenerationConfig(topK: 0), GenerationConfig(topK: 2),
                       GenerationConfig(topK: 0, topP: 0.5), GenerationConfig(topK: 0, minP: 0.1)] {
            var s = try Sampler(config: config)
            XCTAssertThrowsError(try s.sampleToken(from: dead)) {
                XCTAssertEqual($0 as? GenerationError, .noSampleableToken)
            }
        }
    }
}
