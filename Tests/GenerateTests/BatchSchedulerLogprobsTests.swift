import Foundation
@testable import Generate
import Model
import Tensor
import TestSupport
import XCTest

/// Log-probabilities from the ``BatchScheduler``: rows that ask for them get the log-softmax of the
/// model's raw logits (checked against a full forward pass and a plain Double log-softmax), rows
/// that do not get none, and asking changes no token.
final class BatchSchedulerLogprobsTests: XCTestCase {
    private static func loadModel() throws -> any CausalLanguageModel {
        try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
    }

    /// log-softmax of every row of `logits` ([rows × v]), in Double, the naive way.
    private func logSoftmax(_ logits: [Float], v: Int) -> [[Double]] {
        stride(from: 0, to: logits.count, by: v).map { start in
            let row = logits[start..<(start + v)].map(Double.init)
            let top = row.max()!
            let log = Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) }) + top
            return row.map { $0 - log }
        }
    }

    /// Each choice's tokens and their log-probabilities as streamed.
    private func collect(_ stream: AsyncThrowingStream<BatchEvent, any Error>) async throws
        -> [Int: [(id: Int, logprobs: TokenLogprobs?)]] {
        var got: [Int: [(id: Int, logprobs: TokenLogprobs?)]] = [:]
        for try await event in stream {
            if case .token(let choice, let id, _, let logprobs) = event { got[choice, default: []].append((id, logprobs)) }
        }
        return got
    }

    /// Rows with and without log-probabilities in one batch (greedy and seeded sampling, two choices):
    /// tokens equal one-by-one generation, and each reported log-probability and top list equals the
    /// log-softmax of the model's own logits at that position.
    func testMixedBatchMatchesModelLogSoftmax() async throws {
        let reference = Generator(model: try Self.loadModel(), tokenizer: MockTokenizer())
        var sampled = GenerationConfig(maxNewTokens: 12, temperature: 0.8, topK: 20, topP: 0.9, seed: 21)
        sampled.frequencyPenalty = 0.5  // penalties change the sampling, not the reported log-probabilities
        let requests = [
            BatchRequest(promptTokens: [1, 2, 3, 4], config: GenerationConfig(maxNewTokens: 10, temperature: 0), logprobs: 5),
            BatchRequest(promptTokens: [40, 41], config: sampled),
            BatchRequest(promptTokens: [88, 12, 9], config: sampled, choices: 2, logprobs: 0),
            BatchRequest(promptTokens: [33, 7], config: GenerationConfig(maxNewTokens: 9, temperature: 0), logprobs: 96 + 4),
        ]
        let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: MockTokenizer(),
                                       options: .init(maxBatchSize: 5, maxQueuedRequests: 8))
        var streams: [AsyncThrowingStream<BatchEvent, any Error>] = []
        for r in requests { streams.append(try await scheduler.submit(r)) }  // all join the first batch
        let loop = Task { await scheduler.run() }
        let v = reference.model.description.vocabularySize
        for (request, stream) in zip(requests, streams) {
            let got = try await collect(stream)
            for choice in 0..<request.choices {
                let expected = try reference.generate(promptTokens: request.promptTokens,
                                                      config: request.config(forChoice: choice), adapter: .none)
                let tokens = try XCTUnwrap(got[choice])
                XCTAssertEqual(tokens.map(\.id), expected.tokenIDs)
                guard let k = request.logprobs else {
                    XCTAssertTrue(tokens.allSatisfy { $0.logprobs == nil })
                    continue
                }
                let all = request.promptTokens + expected.tokenIDs
                let logits = try reference.model.forward(ModelInput(tokens: all), cache: nil).scalars
                let exact = logSoftmax(logits, v: v)
                for (i, token) in tokens.enumerated() {
                    let row = exact[request.promptTokens.count - 1 + i]
                    let lp = try XCTUnwrap(token.logprobs)
                    XCTAssertEqual(Double(lp.logprob), row[token.id], accuracy: 1e-4)
                    XCTAssertEqual(lp.top.count, min(k, v))
                    // The i-th best matches the reference's i-th best (by value: near-ties may swap ids).
                    let ranked = row.sorted(by: >)
                    XCTAssertEqual(Set(lp.top.map(\.token)).count, lp.top.count, "distinct tokens")
                    for (rank, entry) in lp.top.enumerated() {
                        XCTAssertEqual(Double(entry.logprob), row[entry.token], accuracy: 1e-4)
                        XCTAssertEqual(row[entry.token], ranked[rank], accuracy: 1e-4)
                    }
                    XCTAssertEqual(lp.top.map(\.logprob), lp.top.map(\.logprob).sorted(by: >))
                    if request.config.isGreedy, let first = lp.top.first {
                        XCTAssertEqual(first.token, token.id, "greedy picks the most probable token")
                        XCTAssertEqual(first.logprob, lp.logprob)
                    }
                }
            }
        }
        let stats = await scheduler.statistics()
        XCTAssertEqual(stats.largestBatch, 5, "every row ran in one batch")
        loop.cancel()
        await loop.value
    }

    /// A negative `logprobs` is refused with a typed error.
    func testNegativeLogprobsRefused() async throws {
        let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: MockTokenizer())
        do {
            _ = try await scheduler.submit(BatchRequest(promptTokens: [1], logprobs: -1))
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error as? BatchSchedulerError, .invalidLogprobs(-1))
        }
    }

    /// The row summary on awkward rows: −infinity and NaN logits, ties (lower id first), k beyond the
    /// row, k = 0, and a +infinity logit.
    func testLogSoftmaxRowEdgeCases() {
        let row: [Float] = [1, .nan, 3, -.infinity, 3, 0.5, 2, 1, 0, -1, 4, 2, 1]
        row.withUnsafeBufferPointer { buffer in
            let summary = LogSoftmaxRow(buffer, top: 4)
            let finite = row.filter(\.isFinite).map(Double.init)
            let normalizer = Foundation.log(finite.reduce(0) { $0 + Foundation.exp($1) })
            XCTAssertEqual(summary.logNormalizer, normalizer, accuracy: 1e-6)
            XCTAssertEqual(summary.top.map(\.token), [10, 2, 4, 6])
            XCTAssertEqual(summary.top.map(\.logprob), summary.top.map(\.logprob).sorted(by: >))
            XCTAssertEqual(Double(summary.logprobs(token: 2, in: buffer).logprob), 3 - normalizer, accuracy: 1e-6)
            XCTAssertEqual(summary.logprobs(token: 1, in: buffer).logprob, -.infinity, "NaN logit")
            XCTAssertEqual(summary.logprobs(token: 3, in: buffer).logprob, -.infinity)
            XCTAssertEqual(summary.logprobs(token: 99, in: buffer).logprob, -.infinity, "outside the row")
            XCTAssertEqual(LogSoftmaxRow(buffer, top: 0).top, [])
            let everything = LogSoftmaxRow(buffer, top: 50).top
            XCTAssertEqual(everything.count, row.count)
            XCTAssertEqual(Set(everything.map(\.token)), Set(row.indices))
            XCTAssertEqual(everything.suffix(2).map(\.logprob), [-.infinity, -.infinity], "NaN and −infinity rank last")
        }
        let infinite: [Float] = [0, .infinity, 2]
        infinite.withUnsafeBufferPointer { buffer in
            let summary = LogSoftmaxRow(buffer, top: 2)
            XCTAssertEqual(summary.logprobs(token: 1, in: buffer).logprob, 0)
            XCTAssertEqual(summary.logprobs(token: 2, in: buffer).logprob, -.infinity)
            XCTAssertEqual(summary.top.map(\.token), [1, 2])
        }
    }

    /// On a vocabulary-sized row (151,936 entries, large spread) the vectorised log-sum-exp matches
    /// a Double reference; the top 20 equals a full sort's.
    func testLogSoftmaxRowOnLargeRow() {
        var random = SeededRandom(seed: 5)
        let row = (0..<151_936).map { _ in Float(Double(random.next() >> 11) * 0x1p-53 * 40 - 25) }
        let reference = row.map(Double.init)
        let top = reference.max()!
        let normalizer = Foundation.log(reference.reduce(0) { $0 + Foundation.exp($1 - top) }) + top
        row.withUnsafeBufferPointer { buffer in
            let summary = LogSoftmaxRow(buffer, top: 20)
            XCTAssertEqual(summary.logNormalizer, normalizer, accuracy: 1e-5)
            let ranked = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            XCTAssertEqual(summary.top.map(\.token), Array(ranked.prefix(20)))
            for entry in summary.top {
                XCTAssertEqual(Double(entry.logprob), reference[entry.token] - normalizer, accuracy: 1e-5)
            }
        }
    }
}
