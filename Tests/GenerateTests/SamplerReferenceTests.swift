import Foundation
import Tensor
import XCTest
import Generate

/// Checks the fast filters (heap selection, growing nucleus search) against a plain full-sort implementation
/// of transformers' semantics, at a real vocabulary size.
final class SamplerReferenceTests: XCTestCase {
    static let vocabulary = 151_936

    /// transformers' warpers written naively: temperature, then top-k, top-p, min-p, each via a full sort.
    static func reference(_ logits: [Float], temperature: Float, topK: Int, topP: Float, minP: Float) -> [Float] {
        var scores = logits.map { $0 / temperature }
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        if topK > 0 && topK < scores.count {
            let kth = scores[order[topK - 1]]
            for i in scores.indices where scores[i] < kth { scores[i] = -.infinity }
        }
        func probabilities() -> [Double] {
            let top = Double(scores.max()!)
            let e = scores.map { exp(Double($0) - top) }
            let z = e.reduce(0, +)
            return e.map { $0 / z }
        }
        if topP < 1 {
            let p = probabilities()
            var above = 0.0
            for (rank, i) in order.enumerated() {
                if rank > 0 && above >= Double(topP) { scores[i] = -.infinity }
                above += p[i]
            }
        }
        if minP > 0 {
            let p = probabilities()
            let top = p.max()!
            for i in scores.indices where p[i] < Double(minP) * top { scores[i] = -.infinity }
        }
        return scores
    }

    static func randomLogits(seed: UInt64, scale: Float, quantum: Float? = nil) -> [Float] {
        var random = SeededRandom(seed: seed)
        return (0..<vocabulary).map { _ in
            let value = random.nextNormal() * scale
            return quantum.map { ($0 * (value / $0).rounded()) } ?? value
        }
    }

    func check(_ logits: [Float], _ config: GenerationConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let sampler = try Sampler(config: config)
        let mine = try sampler.processedLogits(logits)
        let theirs = Self.reference(logits, temperature: config.temperature, topK: config.topK,
                                    topP: config.topP, minP: config.minP)
        let keptMine = mine.indices.filter { mine[$0] > -.infinity }
        let keptTheirs = theirs.indices.filter { theirs[$0] > -.infinity }
        XCTAssertEqual(keptMine, keptTheirs, "kept sets differ", file: file, line: line)
        XCTAssertGreaterThan(keptMine.count, 0, file: file, line: line)
        for i in keptMine { XCTAssertEqual(mine[i], theirs[i], file: file, line: line) }
    }

    func testTopKAndTopPAtFullVocabulary() throws {
        let logits = Self.randomLogits(seed: 11, scale: 3)
        try check(logits, GenerationConfig(temperature: 0.8, topK: 50, topP: 0.9))
        try check(logits, GenerationConfig(temperature: 1.0, topK: 1))
        try check(logits, GenerationConfig(temperature: 1.0, topK: 1000))
    }

    func testTopPWithoutTopKGrowsTheSelection() throws {
        // Peaked: the nucleus fits the first partial selection; flat: it needs several larger ones.
        try check(Self.randomLogits(seed: 12, scale: 6), GenerationConfig(temperature: 0.5, topK: 0, topP: 0.9))
        try check(Self.randomLogits(seed: 13, scale: 1), GenerationConfig(temperature: 1.0, topK: 0, topP: 0.5))
        try check(Self.randomLogits(seed: 14, scale: 0.2), GenerationConfig(temperature: 1.0, topK: 0, topP: 0.95))
    }

    func testMinPAtFullVocabulary() throws {
        try check(Self.randomLogits(seed: 15, scale: 2), GenerationConfig(temperature: 1.0, topK: 0, minP: 0.01))
        try check(Self.randomLogits(seed: 16, scale: 2), GenerationConfig(temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05))
    }

    func testTopKKeepsEveryTokenTiedWithTheKth() throws {
        // Quantised logits: thousands of exact ties, as low-bit models produce.
        let logits = Self.randomLogits(seed: 17, scale: 2, quantum: 0.25)
        try check(logits, GenerationConfig(temperature: 1.0, topK: 50))
        try check(logits, GenerationConfig(temperature: 1.0, topK: 50, topP: 0.9, minP: 0.1))
        let sampler = try Sampler(config: GenerationConfig(temperature: 1.0, topK: 50))
        let kept = try sampler.processedLogits(logits).filter { $0 > -.infinity }.count
        XCTAssertGreaterThan(kept, 50, "ties at the boundary must widen the kept set")
    }

    func testProbabilitiesAreTheSoftmaxOfTheProcessedLogits() throws {
        let logits = Self.randomLogits(seed: 18, scale: 2.5)
        for config in [GenerationConfig(temperature: 0.7, topK: 50, topP: 0.9), GenerationConfig(temperature: 1.3, topK: 0),
                       GenerationConfig(temperature: 0.9, topK: 0, topP: 0.8),
                       GenerationConfig(temperature: 1.0, topK: 0, minP: 0.02, repetitionPenalty: 1.2)] {
            let sampler = try Sampler(config: config, prompt: Array(0..<500))
            let processed = try sampler.processedLogits(logits)
            let top = Double(processed.max()!)
            let e = processed.map { exp(Double($0) - top) }
            let z = e.reduce(0, +)
            let probabilities = try sampler.probabilities(logits)
            XCTAssertEqual(Double(probabilities.reduce(0, +)), 1, accuracy: 1e-4)
            for i in processed.indices {
                XCTAssertEqual(Double(probabilities[i]), e[i] / z, accuracy: 2e-6 * e[i] / z + 1e-12, "token \(i)")
            }
        }
        XCTAssertEqual(try Sampler(config: .greedy).probabilities([1, 3, 3, 2]), [0, 1, 0, 0])
    }

    func testTopPOnDegenerateRows() throws {
        // All logits equal: every token has probability 1/1000; the nucleus is the 250 lowest ids.
        let flat = [Float](repeating: 0.25, count: 1000)
        let kept = try Sampler(config: GenerationConfig(topK: 0, topP: 0.25)).processedLogits(flat)
        XCTAssertEqual(kept.indices.filter { kept[$0] > -.infinity }, Array(0..<250))
        // -infinity and NaN entries take no part.
        var holes = Self.randomLogits(seed: 19, scale: 1)
        for i in stride(from: 0, to: holes.count, by: 3) { holes[i] = -.infinity }
        for i in stride(from: 1, to: holes.count, by: 97) { holes[i] = .nan }
        let config = GenerationConfig(temperature: 1.0, topK: 0, topP: 0.7)
        let mine = try Sampler(config: config).processedLogits(holes)
        let clean = holes.map { $0.isNaN ? -Float.infinity : $0 }
        let theirs = Self.reference(clean, temperature: 1, topK: 0, topP: 0.7, minP: 0)
        XCTAssertEqual(mine.indices.filter { mine[$0] > -.infinity }, theirs.indices.filter { theirs[$0] > -.infinity })
        var sampler = try Sampler(config: config)
        for _ in 0..<1_000 {
            let token = try sampler.sampleToken(from: holes)
            XCTAssertTrue(mine[token] > -.infinity)
        }
    }
}
