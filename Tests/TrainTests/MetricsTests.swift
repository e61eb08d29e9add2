import Foundation
import XCTest
@testable import Train

/// BLEU and ROUGE against sacreBLEU and rouge-score (fixture from Tools/make_metric_fixtures.py),
/// plus exact match, perplexity and token accuracy.
final class MetricsTests: XCTestCase {
    private struct BLEUValues: Decodable {
        let score: Double
        let counts: [Double]
        let totals: [Double]
        let precisions: [Double]
        let bp: Double
        let sys_len: Int
        let ref_len: Int
    }
    private struct RougeValues: Decodable { let precision: Double; let recall: Double; let f1: Double }
    private struct Pair: Decodable {
        let hypothesis: String
        let reference: String
        let hypothesis_13a: String
        let reference_13a: String
        let sentence_bleu: BLEUValues
        let rouge: [String: RougeValues]
    }
    private struct Corpus: Decodable { let name: String; let range: [Int]; let bleu: BLEUValues }
    private struct Variant: Decodable {
        struct Options: Decodable {
            let smooth_method: String?
            let smooth_value: Double?
            let lowercase: Bool?
            let effective_order: Bool?
            let tokenize: String?
        }
        let name: String
        let range: [Int]
        let options: Options
        let bleu: BLEUValues
    }
    private struct Multi: Decodable { let second_references: [String]; let bleu: BLEUValues }
    private struct Fixture: Decodable {
        let pairs: [Pair]
        let corpora: [Corpus]
        let variants: [Variant]
        let multi_reference: Multi
        let rouge_mean_f1: [String: Double]
    }

    private static let fixture: Fixture? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metrics.json")
        return try? JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    private func loadFixture() throws -> Fixture { try XCTUnwrap(Self.fixture, "metrics fixture missing or unreadable") }

    private func assertBLEU(_ s: BLEU.Score, _ e: BLEUValues, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(s.score, e.score, accuracy: 1e-3, "\(label): score", file: file, line: line)
        XCTAssertEqual(s.matches, e.counts, "\(label): matches", file: file, line: line)
        XCTAssertEqual(s.totals, e.totals, "\(label): totals", file: file, line: line)
        for (a, b) in zip(s.precisions, e.precisions) { XCTAssertEqual(a, b, accuracy: 1e-6, "\(label): precision", file: file, line: line) }
        XCTAssertEqual(s.brevityPenalty, e.bp, accuracy: 1e-9, "\(label): bp", file: file, line: line)
        XCTAssertEqual(s.hypothesisLength, e.sys_len, "\(label): sys_len", file: file, line: line)
        XCTAssertEqual(s.referenceLength, e.ref_len, "\(label): ref_len", file: file, line: line)
    }

    func testFixtureIsLargeAndVaried() throws {
        let f = try loadFixture()
        XCTAssertGreaterThanOrEqual(f.pairs.count, 50)
        XCTAssertTrue(f.pairs.contains { $0.hypothesis.isEmpty })
        XCTAssertTrue(f.pairs.contains { $0.hypothesis.unicodeScalars.contains { $0.value > 0x7F } })
    }

    func test13aTokenizationMatchesSacreBLEU() throws {
        for p in try loadFixture().pairs {
            XCTAssertEqual(Tokenizer13a.tokenize(p.hypothesis.rstrippingPythonWhitespace()), p.hypothesis_13a, p.hypothesis)
            XCTAssertEqual(Tokenizer13a.tokenize(p.reference.rstrippingPythonWhitespace()), p.reference_13a, p.reference)
        }
    }

    func testSentenceBLEUMatchesSacreBLEU() throws {
        for p in try loadFixture().pairs {
            let s = try BLEU.sentenceScore(hypothesis: p.hypothesis, references: [p.reference])
            assertBLEU(s, p.sentence_bleu, "sentence \(p.hypothesis.debugDescription)")
        }
    }

    func testCorpusBLEUMatchesSacreBLEU() throws {
        let f = try loadFixture()
        for c in f.corpora {
            let slice = f.pairs[c.range[0]..<c.range[1]]
            let s = try BLEU.corpusScore(hypotheses: slice.map(\.hypothesis), references: slice.map(\.reference))
            assertBLEU(s, c.bleu, "corpus \(c.name)")
        }
        let all = f.pairs
        let multi = try BLEU.corpusScore(hypotheses: all.map(\.hypothesis),
                                         referenceSets: zip(all, f.multi_reference.second_references).map { [$0.reference, $1] })
        assertBLEU(multi, f.multi_reference.bleu, "two references")
    }

    func testBLEUOptionsMatchSacreBLEU() throws {
        let f = try loadFixture()
        for v in f.variants {
            var options = BLEU.Options()
            switch v.options.smooth_method {
            case "none": options.smoothing = .none
            case "floor": options.smoothing = .floor(v.options.smooth_value ?? 0.1)
            case "add-k": options.smoothing = .addK(v.options.smooth_value ?? 1)
            default: break
            }
            options.lowercase = v.options.lowercase ?? false
            options.effectiveOrder = v.options.effective_order ?? false
            options.tokenize13a = v.options.tokenize != "none"
            let slice = f.pairs[v.range[0]..<v.range[1]]
            let s = try BLEU.corpusScore(hypotheses: slice.map(\.hypothesis), references: slice.map(\.reference), options: options)
            assertBLEU(s, v.bleu, "\(v.name) \(v.range)")
        }
    }

    func testROUGEMatchesRougeScore() throws {
        let f = try loadFixture()
        let corpus = try ROUGE.corpusScore(predictions: f.pairs.map(\.hypothesis), targets: f.pairs.map(\.reference))
        for (p, s) in zip(f.pairs, corpus.pairs) {
            for (key, got) in [("rouge1", s.rouge1), ("rouge2", s.rouge2), ("rougeL", s.rougeL)] {
                let e = try XCTUnwrap(p.rouge[key])
                XCTAssertEqual(got.precision, e.precision, accuracy: 1e-4, "\(key) P \(p.hypothesis.debugDescription)")
                XCTAssertEqual(got.recall, e.recall, accuracy: 1e-4, "\(key) R \(p.hypothesis.debugDescription)")
                XCTAssertEqual(got.f1, e.f1, accuracy: 1e-4, "\(key) F \(p.hypothesis.debugDescription)")
            }
        }
        XCTAssertEqual(corpus.rouge1F1, try XCTUnwrap(f.rouge_mean_f1["rouge1"]), accuracy: 1e-4)
        XCTAssertEqual(corpus.rouge2F1, try XCTUnwrap(f.rouge_mean_f1["rouge2"]), accuracy: 1e-4)
        XCTAssertEqual(corpus.rougeLF1, try XCTUnwrap(f.rouge_mean_f1["rougeL"]), accuracy: 1e-4)
    }

    func testMetricInputErrors() {
        XCTAssertThrowsError(try BLEU.corpusScore(hypotheses: ["a"], references: [])) {
            XCTAssertEqual($0 as? MetricError, .countMismatch(predictions: 1, references: 0))
        }
        XCTAssertThrowsError(try BLEU.corpusScore(hypotheses: ["a"], referenceSets: [[]])) {
            XCTAssertEqual($0 as? MetricError, .noReferences(index: 0))
        }
        XCTAssertThrowsError(try ROUGE.corpusScore(predictions: ["a", "b"], targets: ["a"]))
        XCTAssertThrowsError(try ExactMatch.score(predictions: [], references: ["a"]))
        XCTAssertEqual(try ROUGE.corpusScore(predictions: [], targets: []).rouge1F1, 0)
    }

    func testExactMatchNormalisation() throws {
        XCTAssertTrue(ExactMatch.matches(" SWT-WOL-BLU-L\n", "SWT-WOL-BLU-L"))
        XCTAssertFalse(ExactMatch.matches(" SWT-WOL-BLU-L\n", "SWT-WOL-BLU-L", normalization: .none))
        XCTAssertFalse(ExactMatch.matches("a  b", "a b"))
        XCTAssertTrue(ExactMatch.matches("a \t b\n", " a b", normalization: .whitespace))
        XCTAssertFalse(ExactMatch.matches("ABC", "abc"))
        XCTAssertTrue(ExactMatch.matches("ABC ", "abc", normalization: .init(caseInsensitive: true)))
        let score = try ExactMatch.score(predictions: ["x", "y ", "z", "w"], references: ["x", "y", "q", "w"])
        XCTAssertEqual(score, 0.75)
        XCTAssertEqual(try ExactMatch.score(predictions: [], references: []), 0)
    }

    func testPerplexityOfUniformPredictionsIsVocabularySize() {
        // A model that spreads probability evenly over V tokens has NLL log V per token.
        var meter = PerplexityMeter()
        XCTAssertNil(meter.perplexity)
        let vocabulary = 37.0
        meter.add(sumNLL: 10 * log(vocabulary), tokens: 10)
        meter.add(meanNLL: log(vocabulary), tokens: 5)
        meter.add(sumNLL: 123, tokens: 0)  // ignored
        XCTAssertEqual(meter.tokenCount, 15)
        XCTAssertEqual(try XCTUnwrap(meter.perplexity), vocabulary, accuracy: 1e-9)
        // Token-weighted: one token of NLL 0 and three of NLL 2 → mean 1.5.
        var weighted = PerplexityMeter()
        weighted.add(sumNLL: 0, tokens: 1)
        weighted.add(meanNLL: 2, tokens: 3)
        XCTAssertEqual(try XCTUnwrap(weighted.meanNLL), 1.5, accuracy: 1e-12)
        XCTAssertEqual(PerplexityMeter.perplexity(meanNLL: 1.5), exp(1.5), accuracy: 1e-12)
    }

    func testTokenAccuracyUsesNextTokenShiftAndSkipsIgnoredLabels() throws {
        // Vocabulary 4, positions 0…4. Logits row t is the guess for labels[t + 1].
        let labels: [Int] = [-100, -100, 2, 3, 1]
        let guesses = [3, 2, 0, 1, 0]  // row 0 → label -100 (skipped); row 1 → 2 ✓; row 2 → 3 ✗; row 3 → 1 ✓; row 4 unused
        var logits = [Float](repeating: 0, count: labels.count * 4)
        for (t, g) in guesses.enumerated() { logits[t * 4 + g] = 1 }
        var accuracy = TokenAccuracy()
        try logits.withUnsafeBufferPointer { try accuracy.add(logits: $0, vocabularySize: 4, labels: labels) }
        XCTAssertEqual(accuracy.total, 3)
        XCTAssertEqual(accuracy.correct, 2)
        XCTAssertThrowsError(try logits.withUnsafeBufferPointer { try accuracy.add(logits: $0, vocabularySize: 3, labels: labels) })
        XCTAssertThrowsError(try accuracy.add(predictions: [1], labels: [1, 2]))
    }
}
