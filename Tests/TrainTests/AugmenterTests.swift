import Foundation
import Generate
import Model
import TestSupport
import Train
import XCTest

/// The model paraphrases records; seeded, filtered, deduplicated, written as reviewable JSONL.
final class AugmenterTests: XCTestCase {
    private let fixtures = Fixtures.url("GenerateTests", "cli")

    private func records(_ count: Int) throws -> [DataRecord] {
        Array(try JSONLReader.read(contentsOf: fixtures.appendingPathComponent("train.jsonl")).records.prefix(count))
    }

    private func augmenter(_ options: AugmentationOptions) throws -> Augmenter {
        let (model, tokenizer) = try LanguageModel.load(from: fixtures.appendingPathComponent("tiny-qwen2"))
        return try Augmenter(generator: Generator(model: model, tokenizer: tokenizer), template: .chatML(defaultSystemPrompt: nil),
                             options: options)
    }

    /// Sampling with a short answer and length filters wide enough to keep the tiny model's text.
    private func options(seed: UInt64, paraphrases: Int = 2) -> AugmentationOptions {
        AugmentationOptions(paraphrasesPerField: paraphrases,
                            sampling: GenerationConfig(maxNewTokens: 12, temperature: 1, topK: 0, topP: 1, stopOnEOS: false),
                            seed: seed, minimumLengthRatio: 0, maximumLengthRatio: 1_000)
    }

    func testSameSeedSameParaphrasesAndOnlyTheRewrittenFieldChanges() throws {
        let data = try records(3)
        let a = try augmenter(options(seed: 7)).paraphrases(of: data)
        let b = try augmenter(options(seed: 7)).paraphrases(of: data)
        XCTAssertEqual(a.records, b.records, "a seed fixes the result")
        XCTAssertEqual(a.report, b.report)
        let c = try augmenter(options(seed: 8)).paraphrases(of: data)
        XCTAssertNotEqual(a.records.map(\.record), c.records.map(\.record), "another seed, other paraphrases")

        let r = a.report
        XCTAssertEqual(r.requested, 3 * 2 * 2, "3 records × 2 fields × 2 paraphrases")
        XCTAssertEqual(r.kept + r.empty + r.unchanged + r.wrongLength + r.duplicate, r.requested)
        XCTAssertEqual(r.kept, a.records.count)
        XCTAssertGreaterThan(r.kept, 0)
        for p in a.records {
            guard case .alpaca(let i0, let in0, let o0) = data[p.sourceIndex], case .alpaca(let i1, let in1, let o1) = p.record else {
                return XCTFail("\(p)")
            }
            XCTAssertEqual(o1, o0, "the target is never rewritten")
            switch p.field {
            case .instruction: XCTAssertEqual(in1, in0); XCTAssertNotEqual(i1, i0); XCTAssertEqual(p.original, i0)
            case .input: XCTAssertEqual(i1, i0); XCTAssertNotEqual(in1, in0); XCTAssertEqual(p.original, in0)
            }
            XCTAssertFalse(i1.isEmpty || in1.isEmpty)
        }
        XCTAssertEqual(Set(a.records.map(\.record)).count, a.records.count, "no duplicates among the kept")

        // The JSONL lines read back as the same records.
        let jsonl = try a.records.map { try $0.jsonLine() }.joined(separator: "\n")
        let back = try JSONLReader.read(string: jsonl)
        XCTAssertEqual(back.records, a.records.map(\.record))
        XCTAssertTrue(back.malformed.isEmpty)
    }

    func testGreedyRepeatsAreDuplicatesAndLengthFiltersDrop() throws {
        let data = try records(2)
        var greedy = options(seed: 1, paraphrases: 2)
        greedy.sampling.temperature = 0
        let repeated = try augmenter(greedy).paraphrases(of: data).report
        // Greedy answers repeat: the second request per field is a duplicate whenever the first was kept.
        XCTAssertEqual(repeated.duplicate, repeated.kept)
        XCTAssertGreaterThan(repeated.kept, 0)

        var strict = options(seed: 7)
        strict.minimumLengthRatio = 50
        strict.maximumLengthRatio = 60
        let none = try augmenter(strict).paraphrases(of: data)
        XCTAssertTrue(none.records.isEmpty)
        XCTAssertEqual(none.report.wrongLength, none.report.requested - none.report.empty - none.report.unchanged)
        XCTAssertGreaterThan(none.report.wrongLength, 0)
    }

    func testBadOptionsAreTypedErrors() throws {
        for bad in [AugmentationOptions(paraphrasesPerField: 0), AugmentationOptions(fields: []),
                    AugmentationOptions(minimumLengthRatio: 2, maximumLengthRatio: 1)] {
            XCTAssertThrowsError(try augmenter(bad)) { guard case .invalidConfiguration = $0 as? DataError else { return XCTFail("\($0)") } }
        }
    }
}
