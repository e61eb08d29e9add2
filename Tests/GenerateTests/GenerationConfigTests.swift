import Foundation
import XCTest
import Generate

final class GenerationConfigTests: XCTestCase {
    func testDefaults() {
        let c = GenerationConfig()
        XCTAssertEqual(c.maxNewTokens, 256)
        XCTAssertEqual(c.temperature, 1)
        XCTAssertEqual(c.topK, 50)
        XCTAssertEqual(c.topP, 1)
        XCTAssertEqual(c.minP, 0)
        XCTAssertEqual(c.repetitionPenalty, 1)
        XCTAssertNil(c.seed)
        XCTAssertTrue(c.stopOnEOS)
        XCTAssertTrue(GenerationConfig.greedy.isGreedy)
    }

    func testCodableRoundTripAndPartialJSON() throws {
        let c = GenerationConfig(maxNewTokens: 9, temperature: 0.7, topK: 20, topP: 0.8, minP: 0.05,
                                 repetitionPenalty: 1.05, frequencyPenalty: 0.1, presencePenalty: 0.2, seed: 5,
                                 stopStrings: ["\n\n"], stopTokenIDs: [7], stopOnEOS: false)
        XCTAssertEqual(try JSONDecoder().decode(GenerationConfig.self, from: JSONEncoder().encode(c)), c)
        let partial = try JSONDecoder().decode(GenerationConfig.self, from: Data(#"{"temperature": 0, "seed": 3}"#.utf8))
        var expected = GenerationConfig.greedy
        expected.seed = 3
        XCTAssertEqual(partial, expected)
        XCTAssertThrowsError(try JSONDecoder().decode(GenerationConfig.self, from: Data(#"{"topK": "many"}"#.utf8)))
    }

    func testValidationRejectsOutOfRangeValues() {
        let bad: [(String, GenerationConfig)] = [
            ("maxNewTokens", GenerationConfig(maxNewTokens: -1)),
            ("temperature", GenerationConfig(temperature: -0.1)),
            ("temperature", GenerationConfig(temperature: .nan)),
            ("topK", GenerationConfig(topK: -2)),
            ("topP", GenerationConfig(topP: 0)),
            ("topP", GenerationConfig(topP: 1.5)),
            ("minP", GenerationConfig(minP: 2)),
            ("repetitionPenalty", GenerationConfig(repetitionPenalty: 0)),
            ("frequencyPenalty", GenerationConfig(frequencyPenalty: .infinity)),
        ]
        for (field, config) in bad {
            XCTAssertThrowsError(try Sampler(config: config)) { error in
                guard case let .invalidConfig(name, _) = error as? GenerationError else { return XCTFail("\(error)") }
                XCTAssertEqual(name, field)
                XCTAssertTrue((error as? GenerationError)?.description.contains(field) ?? false)
            }
        }
        XCTAssertNoThrow(try GenerationConfig(temperature: 0, topK: 0, topP: 1, minP: 1).validate())
    }
}
