import Foundation
import XCTest
import Model
@testable import Train

/// The committed demo dataset (Examples/Data/sku, from Tools/make_demo_dataset.py) loads cleanly
/// and keeps its promises: held-out combinations, every value seen in training.
final class SKUDatasetTests: XCTestCase {
    private let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/Data/sku")

    private func outputs(_ data: LoadedDataset) -> [String] {
        data.records.map { record -> String in
            guard case .alpaca(_, _, let output) = record else { return "" }
            return output
        }
    }

    func testDemoDatasetLoadsWithHeldOutCombinations() throws {
        let train = try JSONLReader.read(contentsOf: directory.appendingPathComponent("train.jsonl"))
        let test = try JSONLReader.read(contentsOf: directory.appendingPathComponent("test.jsonl"))
        XCTAssertEqual(train.format, .alpaca)
        XCTAssertEqual(train.records.count, 400)
        XCTAssertEqual(test.records.count, 100)
        XCTAssertTrue(train.malformed.isEmpty)
        XCTAssertTrue(test.malformed.isEmpty)
        let trainCodes = outputs(train), testCodes = outputs(test)
        // (category, material, colour) of every test example never occurs in training.
        let combination = { (code: String) in code.split(separator: "-").prefix(3).joined(separator: "-") }
        XCTAssertTrue(Set(trainCodes.map(combination)).isDisjoint(with: testCodes.map(combination)), "test combinations are unseen")
        for code in trainCodes + testCodes {
            let fields = code.split(separator: "-")
            XCTAssertEqual(fields.count, 4, code)
        }
        for position in 0..<4 {
            let seen = Set(trainCodes.map { $0.split(separator: "-")[position] })
            for code in testCodes { XCTAssertTrue(seen.contains(code.split(separator: "-")[position]), "\(code) field \(position)") }
        }
    }

    func testDemoDatasetThroughThePipeline() throws {
        let tokenizer = ByteTokenizer.qwenLike()
        let data = try DataPipeline.prepare(contentsOf: directory.appendingPathComponent("train.jsonl"), tokenizer: tokenizer,
                                            config: DataConfig(template: .qwen2_5, validationFraction: 0.1))
        XCTAssertEqual(data.report.trainExamples, 360)
        XCTAssertEqual(data.report.validationExamples, 40)
        XCTAssertEqual(data.report.droppedTotal, 0)
        XCTAssertTrue(data.report.malformed.isEmpty)
        for e in data.train {
            let target = e.inputIDs.enumerated().filter { e.labels[$0.offset] != TokenizedExample.ignoreIndex }.map(\.element)
            let text = tokenizer.text(target)
            XCTAssertTrue(text.hasSuffix("<|im_end|>"))
            XCTAssertEqual(text.split(separator: "-").count, 4, text)
        }
    }
}
