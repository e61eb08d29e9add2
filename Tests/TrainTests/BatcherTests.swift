import XCTest
@testable import Train

final class BatcherTests: XCTestCase {
    private let pad: Int = 999

    /// Example `i` has `length` tokens `[i*100, i*100+1, …]`, prompt-masked for the first half.
    private func example(_ i: Int, length: Int) -> TokenizedExample {
        let ids = (0..<length).map { Int(i * 100 + $0) }
        let labels = ids.enumerated().map { $0.offset < max(1, length / 2) ? TokenizedExample.ignoreIndex : $0.element }
        return TokenizedExample(inputIDs: ids, labels: labels)
    }

    private func examples(_ lengths: [Int]) -> [TokenizedExample] {
        lengths.enumerated().map { example($0.offset, length: $0.element) }
    }

    private func row(_ batch: TrainingBatch, _ r: Int, _ values: [Int]) -> ArraySlice<Int> {
        values[(r * batch.sequenceLength)..<((r + 1) * batch.sequenceLength)]
    }

    func testPaddedLayout() throws {
        let data = examples([3, 5, 2])
        let batcher = try Batcher(examples: data, options: BatchingOptions(batchSize: 3, groupByLength: false, shuffle: false),
                                  maxSequenceLength: 8, padTokenID: pad, seed: 1)
        let batches = batcher.batches(epoch: 0)
        XCTAssertEqual(batches.count, 1)
        let b = batches[0]
        XCTAssertEqual(b.batchSize, 3)
        XCTAssertEqual(b.sequenceLength, 5)
        XCTAssertEqual(b.inputIDs, [0, 1, 2, pad, pad,
                                    100, 101, 102, 103, 104,
                                    200, 201, pad, pad, pad])
        XCTAssertEqual(b.labels, [-100, 1, 2, -100, -100,
                                  -100, -100, 102, 103, 104,
                                  -100, 201, -100, -100, -100])
        XCTAssertEqual(b.attentionMask, [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
        XCTAssertNil(b.positions, "one example per row: positions 0…T−1")
        XCTAssertNil(b.segments)
        XCTAssertEqual(b.lengths, [3, 5, 2])
        XCTAssertEqual(b.realTokenCount, 10)
        XCTAssertEqual(b.exampleCount, 3)
        XCTAssertFalse(b.isPacked)
        XCTAssertEqual(b.targetCount, data.reduce(0) { $0 + $1.targetTokenCount })
        XCTAssertEqual(b.targetCount, b.labels.filter { $0 != -100 }.count)
        // The loss's shift: position t predicts label t + 1 of the same row, never across rows.
        let next = b.nextTokenTargets
        XCTAssertEqual(next.positions, [0, 1, 6, 7, 8, 10])
        XCTAssertEqual(next.tokens, [1, 2, 102, 103, 104, 201])

        let rounded = try Batcher(examples: data, options: BatchingOptions(batchSize: 2, groupByLength: false, shuffle: false, padToMultipleOf: 4),
                                  maxSequenceLength: 8, padTokenID: pad, seed: 1).batches(epoch: 0)
        XCTAssertEqual(rounded.map(\.sequenceLength), [8, 4])
        XCTAssertEqual(rounded.map(\.batchSize), [2, 1])
    }

    func testEpochsCoverEveryExampleOnceAndAreReproducible() throws {
        let lengths = (0..<103).map { 1 + ($0 * 37) % 60 }
        let data = examples(lengths)
        for options in [BatchingOptions(batchSize: 4), BatchingOptions(batchSize: 4, groupByLength: false),
                        BatchingOptions(batchSize: 4, packing: true)] {
            let batcher = try Batcher(examples: data, options: options, maxSequenceLength: 64, padTokenID: pad, seed: 11)
            let e0 = batcher.batches(epoch: 0)
            XCTAssertEqual(e0, batcher.batches(epoch: 0), "same epoch, same batches")
            XCTAssertNotEqual(e0, batcher.batches(epoch: 1), "each epoch reshuffles")
            // Every example's tokens appear exactly once per epoch (first token ids are unique).
            var seen: [Int] = []
            for b in e0 {
                let mask = b.attentionMask
                for i in 0..<b.inputIDs.count where mask[i] == 1 {
                    let first = b.positions.map { $0[i] == 0 } ?? (i % b.sequenceLength == 0)
                    if first { seen.append(b.inputIDs[i]) }
                }
            }
            XCTAssertEqual(seen.sorted(), data.map { $0.inputIDs[0] }.sorted(), "\(options)")
            XCTAssertEqual(e0.reduce(0) { $0 + $1.targetCount }, data.reduce(0) { $0 + $1.targetTokenCount })
            XCTAssertEqual(batcher.batchesPerEpoch, e0.count)
        }
    }

    func testGroupingByLengthReducesPadding() throws {
        let lengths = (0..<200).map { 2 + ($0 * 7919) % 120 }
        let data = examples(lengths)
        func padding(_ options: BatchingOptions) throws -> Int {
            let batches = try Batcher(examples: data, options: options, maxSequenceLength: 128, padTokenID: pad, seed: 3).batches(epoch: 0)
            return batches.reduce(0) { $0 + $1.attentionMask.filter { $0 == 0 }.count }
        }
        let grouped = try padding(BatchingOptions(batchSize: 8))
        let random = try padding(BatchingOptions(batchSize: 8, groupByLength: false))
        XCTAssertLessThan(grouped * 3, random, "grouped \(grouped) vs random \(random)")
        // Within a grouped batch, lengths are close.
        let batches = try Batcher(examples: data, options: BatchingOptions(batchSize: 8, lengthGroupWindow: 25),
                                  maxSequenceLength: 128, padTokenID: pad, seed: 3).batches(epoch: 0)
        let spread = batches.map { ($0.lengths.max() ?? 0) - ($0.lengths.min() ?? 0) }
        XCTAssertLessThan(Double(spread.reduce(0, +)) / Double(spread.count), 15)
    }

    func testPackingLayoutKeepsExamplesApart() throws {
        let data = examples([5, 3, 4, 2, 6, 1, 7])
        let batcher = try Batcher(examples: data, options: BatchingOptions(batchSize: 2, packing: true, shuffle: false),
                                  maxSequenceLength: 8, padTokenID: pad, seed: 1)
        let batches = batcher.batches(epoch: 0)
        var rows = 0
        var examplesSeen = 0
        for b in batches {
            XCTAssertTrue(b.isPacked)
            XCTAssertLessThanOrEqual(b.sequenceLength, 8)
            for r in 0..<b.batchSize {
                rows += 1
                let ids = row(b, r, b.inputIDs), labels = row(b, r, b.labels)
                let positions = row(b, r, try XCTUnwrap(b.positions)), sequences = row(b, r, try XCTUnwrap(b.segments))
                XCTAssertLessThanOrEqual(b.lengths[r], 8)
                // Walk the row example by example: positions restart at 0 and sequence ids count up.
                var t = ids.startIndex
                var s: Int = 1
                while t < ids.startIndex + b.lengths[r] {
                    let first = ids[t]
                    let source = try XCTUnwrap(data.first { $0.inputIDs[0] == first })
                    XCTAssertEqual(Array(ids[t..<(t + source.count)]), source.inputIDs)
                    XCTAssertEqual(Array(labels[t..<(t + source.count)]), source.labels)
                    XCTAssertEqual(labels[t], TokenizedExample.ignoreIndex, "no label crosses an example boundary")
                    XCTAssertEqual(Array(positions[t..<(t + source.count)]), Array(0..<source.count))
                    XCTAssertTrue(sequences[t..<(t + source.count)].allSatisfy { $0 == s })
                    t += source.count
                    s += 1
                    examplesSeen += 1
                }
                XCTAssertTrue(ids[t...].allSatisfy { $0 == pad })
                XCTAssertTrue(labels[t...].allSatisfy { $0 == -100 })
            }
            XCTAssertEqual(b.targetCount, b.labels.filter { $0 != -100 }.count)
        }
        XCTAssertEqual(examplesSeen, data.count)
        // 28 tokens in rows of 8: best-fit decreasing needs the minimum, 4 rows.
        XCTAssertEqual(rows, 4)
    }

    func testPackingMasksFirstLabelEvenIfTheExampleDidNot() throws {
        let raw = [TokenizedExample(inputIDs: [1, 2, 3], labels: [1, 2, 3]), TokenizedExample(inputIDs: [4, 5], labels: [4, 5])]
        let b = try XCTUnwrap(try Batcher(examples: raw, options: BatchingOptions(batchSize: 1, packing: true, shuffle: false),
                                          maxSequenceLength: 8, padTokenID: pad, seed: 0).batches(epoch: 0).first)
        XCTAssertEqual(b.inputIDs, [1, 2, 3, 4, 5])
        XCTAssertEqual(b.labels, [-100, 2, 3, -100, 5])
        XCTAssertEqual(b.targetCount, 3)
        XCTAssertEqual(b.nextTokenTargets.positions, [0, 1, 3], "position 2 (the first example's end) predicts nothing")
    }

    func testPackingUsesFewerTokensThanPadding() throws {
        let lengths = (0..<300).map { 3 + ($0 * 31) % 45 }
        let data = examples(lengths)
        func slots(_ options: BatchingOptions) throws -> Int {
            try Batcher(examples: data, options: options, maxSequenceLength: 64, padTokenID: pad, seed: 2)
                .batches(epoch: 0).reduce(0) { $0 + $1.batchSize * $1.sequenceLength }
        }
        let realTokens = lengths.reduce(0, +)
        let packed = try slots(BatchingOptions(batchSize: 4, packing: true))
        XCTAssertLessThan(Double(packed), Double(realTokens) * 1.1, "packing wastes under 10% (\(packed) slots for \(realTokens) tokens)")
        XCTAssertLessThan(packed, try slots(BatchingOptions(batchSize: 4, groupByLength: false)))
    }

    func testDropLastAndInvalidInput() throws {
        let data = examples([2, 2, 2, 2, 2])
        let kept = try Batcher(examples: data, options: BatchingOptions(batchSize: 2, dropLast: true), maxSequenceLength: 4, padTokenID: pad, seed: 0)
        XCTAssertEqual(kept.batches(epoch: 0).map(\.batchSize), [2, 2])
        XCTAssertThrowsError(try Batcher(examples: [TokenizedExample(inputIDs: [1, 2], labels: [1])], options: BatchingOptions(),
                                         maxSequenceLength: 4, padTokenID: pad, seed: 0))
        XCTAssertThrowsError(try Batcher(examples: examples([5]), options: BatchingOptions(), maxSequenceLength: 4, padTokenID: pad, seed: 0))
        XCTAssertThrowsError(try Batcher(examples: [TokenizedExample(inputIDs: [], labels: [])], options: BatchingOptions(),
                                         maxSequenceLength: 4, padTokenID: pad, seed: 0))
        XCTAssertThrowsError(try Batcher(examples: data, options: BatchingOptions(padToMultipleOf: 0), maxSequenceLength: 4, padTokenID: pad, seed: 0))
        XCTAssertTrue(try Batcher(examples: [], options: BatchingOptions(), maxSequenceLength: 4, padTokenID: pad, seed: 0).batches(epoch: 0).isEmpty)
    }
}
