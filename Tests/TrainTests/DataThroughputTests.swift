import Foundation
import XCTest
import Model
@testable import Train

/// Loads, prepares and batches a 50,000-line file end to end and prints the time each stage takes
/// (the assertions check the counts; timings are informational).
final class DataThroughputTests: XCTestCase {
    func testFiftyThousandLinesEndToEnd() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-throughput-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        var text = ""
        for i in 0..<50_000 {
            text += #"{"instruction": "Write the inventory code for item number \#(i) in the <b>spring</b> catalogue.", "input": "", "output": "ITEM-\#(i % 977)-\#(i)"}"# + "\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
        let bytes = text.utf8.count

        let clock = ContinuousClock()
        var loaded: LoadedDataset?
        let readTime = try clock.measure { loaded = try JSONLReader.read(contentsOf: url) }
        let dataset = try XCTUnwrap(loaded)
        XCTAssertEqual(dataset.records.count, 50_000)

        var prepared: PreparedData?
        var config = DataConfig(template: .qwen2_5, validationFraction: 0.05)
        config.cleaning.stripHTMLTags = true
        let prepareTime = try clock.measure {
            prepared = try DataPipeline.prepare(dataset, tokenizer: ByteTokenizer.qwenLike(), config: config)
        }
        let data = try XCTUnwrap(prepared)
        XCTAssertEqual(data.report.keptExamples, 50_000)

        var batchCount = 0
        let batchTime = try clock.measure {
            let batcher = try Batcher(examples: data.train, options: BatchingOptions(batchSize: 8, packing: true),
                                      maxSequenceLength: 1024, padTokenID: 0, seed: 1)
            batchCount = batcher.batches(epoch: 0).count
        }
        XCTAssertGreaterThan(batchCount, 0)
        print("""
            data throughput: \(bytes / 1_000_000) MB JSONL, 50,000 lines — read \(readTime), \
            clean+dedup+format+tokenize+split \(prepareTime) (\(data.report.trainTokens + data.report.validationTokens) tokens), \
            pack+batch \(batchTime) (\(batchCount) batches)
            """)
    }
}
