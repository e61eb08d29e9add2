import Foundation
@testable import Generate
import Model
import PEFT
import Tensor
import TestSupport
import XCTest

/// Continuous batching on the tiny transformers-made Llama (vocabulary 96) with the mock tokenizer:
/// every row of a batch that sequences join and leave between steps must produce exactly what
/// ``Generator`` produces for its prompt alone.
final class BatchSchedulerTests: XCTestCase {
    /// A fresh copy of the model (static, so the result belongs to no one and can be handed to a scheduler).
    private static func loadModel() throws -> any CausalLanguageModel {
        try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
    }

    private func config(maxTokens: Int, sampled: Bool, seed: UInt64 = 7) -> GenerationConfig {
        var c = sampled ? GenerationConfig(maxNewTokens: maxTokens, temperature: 0.8, topK: 20, topP: 0.9)
                        : GenerationConfig(maxNewTokens: maxTokens, temperature: 0)
        c.seed = seed
        return c
    }

    /// Every choice's streamed token ids and result.
    private struct Collected {
        var tokens: [Int: [Int]] = [:]
        var results: [Int: GenerationResult] = [:]
    }

    private func collect(_ stream: AsyncThrowingStream<BatchEvent, any Error>) async throws -> Collected {
        var got = Collected()
        for try await event in stream {
            switch event {
            case .token(let choice, let id, _, _): got.tokens[choice, default: []].append(id)
            case .finished(let choice, let result): got.results[choice] = result
            }
        }
        return got
    }

    /// Requests of different lengths in a batch of at most two rows: the short one leaves early and a
    /// waiting one joins the running batch mid-way — greedy and seeded sampling, with two choices.
    func testRowsJoiningAndLeavingEqualOneByOneGeneration() async throws {
        let reference = Generator(model: try Self.loadModel(), tokenizer: MockTokenizer())
        for sampled in [false, true] {
            let requests = [
                BatchRequest(promptTokens: [1, 2, 3, 4, 5, 6, 7], config: config(maxTokens: 4, sampled: sampled)),
                BatchRequest(promptTokens: [40, 41], config: config(maxTokens: 20, sampled: sampled, seed: 99)),
                BatchRequest(promptTokens: [88, 12, 9, 70], config: config(maxTokens: 11, sampled: sampled, seed: 5), choices: 2),
                BatchRequest(promptTokens: [33], config: config(maxTokens: 6, sampled: sampled, seed: 3)),
            ]
            let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: MockTokenizer(),
                                           options: .init(maxBatchSize: 3, maxQueuedRequests: 8))
            // Queue everything before the loop starts: the first two are prefilled together, the rest
            // wait for rows to leave, so rows join a batch that is already decoding.
            var streams: [AsyncThrowingStream<BatchEvent, any Error>] = []
            for r in requests { streams.append(try await scheduler.submit(r)) }
            let loop = Task { await scheduler.run() }
            for (request, stream) in zip(requests, streams) {
                let got = try await collect(stream)
                XCTAssertEqual(got.results.count, request.choices)
                for choice in 0..<request.choices {
                    var c = request.config
                    c.seed = c.seed.map { $0 + UInt64(choice) }
                    let expected = try reference.generate(promptTokens: request.promptTokens, config: c, adapter: .none)
                    XCTAssertEqual(got.tokens[choice], expected.tokenIDs, "sampled \(sampled), prompt \(request.promptTokens), choice \(choice)")
                    XCTAssertEqual(got.results[choice], expected)
                }
            }
            let stats = await scheduler.statistics()
            XCTAssertEqual(stats.largestBatch, 3, "the rows really ran together")
            XCTAssertEqual(stats.runningSequences, 0)
            XCTAssertEqual(stats.kvCacheBytes, 0, "an empty batch holds no cache")
            loop.cancel()
            await loop.value
        }
    }

    /// Requests admitted together are prefilled in one left-padded pass (prompts of 4–5 tokens, one
    /// with two choices; greedy and seeded sampling), and every row still equals one-by-one generation.
    func testRequestsAdmittedTogetherSharePrefillPass() async throws {
        let reference = Generator(model: try Self.loadModel(), tokenizer: MockTokenizer())
        for sampled in [false, true] {
            let requests = [
                BatchRequest(promptTokens: [8, 30, 2, 77, 5], config: config(maxTokens: 9, sampled: sampled, seed: 21)),
                BatchRequest(promptTokens: [61, 4, 19, 50], config: config(maxTokens: 13, sampled: sampled, seed: 2), choices: 2),
                BatchRequest(promptTokens: [9, 9, 14, 3, 70], config: config(maxTokens: 5, sampled: sampled, seed: 8)),
                BatchRequest(promptTokens: [44, 45, 46, 47], config: config(maxTokens: 11, sampled: sampled, seed: 13)),
            ]
            let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: MockTokenizer())
            var streams: [AsyncThrowingStream<BatchEvent, any Error>] = []
            for r in requests { streams.append(try await scheduler.submit(r)) }
            let loop = Task { await scheduler.run() }
            for (request, stream) in zip(requests, streams) {
                let got = try await collect(stream)
                for choice in 0..<request.choices {
                    var c = request.config
                    c.seed = c.seed.map { $0 + UInt64(choice) }
                    let expected = try reference.generate(promptTokens: request.promptTokens, config: c, adapter: .none)
                    XCTAssertEqual(got.results[choice], expected, "sampled \(sampled), prompt \(request.promptTokens), choice \(choice)")
                }
            }
            let stats = await scheduler.statistics()
            XCTAssertEqual(stats.prefillPasses, 1, "four prompts of 4–5 tokens share one prefill pass")
            XCTAssertEqual(stats.largestBatch, 5)
            loop.cancel()
            await loop.value
        }
    }

    /// Prefill groups: every prompt once, similar lengths together, padding and size bounded.
    func testPrefillGroups() {
        XCTAssertEqual(PrefillGroups.split(lengths: []), [])
        XCTAssertEqual(PrefillGroups.split(lengths: [5, 4, 5, 4]), [[1, 3, 0, 2]])
        XCTAssertEqual(PrefillGroups.split(lengths: [7, 2]), [[1], [0]], "2 and 7 tokens: padding would exceed a quarter")
        XCTAssertEqual(PrefillGroups.split(lengths: [3000, 10]), [[1], [0]])
        let lengths = (0..<200).map { 1 + ($0 * 37) % 300 }
        let groups = PrefillGroups.split(lengths: lengths)
        XCTAssertEqual(groups.flatMap { $0 }.sorted(), Array(lengths.indices))
        for group in groups {
            let longest = group.map { lengths[$0] }.max()!, real = group.reduce(0) { $0 + lengths[$1] }
            XCTAssertTrue(group.count == 1 || longest * group.count <= PrefillGroups.maxPaddedTokens)
            XCTAssertLessThanOrEqual(Double(longest * group.count - real), PrefillGroups.maxPaddingShare * Double(real))
        }
        XCTAssertLessThan(groups.count, 60, "similar lengths are grouped")
    }

    /// Requests submitted while others are decoding (joining at whatever step they arrive) still
    /// match one-by-one generation; stop tokens end rows on their own.
    func testRequestsArrivingDuringDecodingMatchGenerator() async throws {
        let reference = Generator(model: try Self.loadModel(), tokenizer: MockTokenizer())
        let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: MockTokenizer())
        let loop = Task { await scheduler.run() }
        let prompts = [[5, 6, 7, 8, 9, 10, 11, 12, 13], [2], [60, 61, 62], [17, 18], [90, 3, 4, 5, 6]]
        var stopping = config(maxTokens: 40, sampled: true, seed: 11)
        let probe = try reference.generate(promptTokens: prompts[0], config: stopping, adapter: .none)
        stopping.stopTokenIDs = [probe.tokenIDs[5]]  // ends row 0 early, by a stop token
        let configs = [stopping] + (1..<prompts.count).map { config(maxTokens: 30 + $0, sampled: $0 % 2 == 0, seed: UInt64($0)) }
        let first = try await scheduler.submit(BatchRequest(promptTokens: prompts[0], config: configs[0]))
        var iterator = first.makeAsyncIterator()
        _ = try await iterator.next()  // the first request is running
        var streams: [AsyncThrowingStream<BatchEvent, any Error>] = []
        for i in 1..<prompts.count {
            streams.append(try await scheduler.submit(BatchRequest(promptTokens: prompts[i], config: configs[i])))
        }
        var firstResult: GenerationResult?
        while let event = try await iterator.next() { if case .finished(_, let r) = event { firstResult = r } }
        XCTAssertEqual(firstResult, try reference.generate(promptTokens: prompts[0], config: configs[0], adapter: .none))
        XCTAssertEqual(firstResult?.finishReason, .endOfSequence(token: probe.tokenIDs[5]))
        for (i, stream) in streams.enumerated() {
            let got = try await collect(stream)
            let expected = try reference.generate(promptTokens: prompts[i + 1], config: configs[i + 1], adapter: .none)
            XCTAssertEqual(got.results[0], expected, "prompt \(i + 1)")
        }
        loop.cancel()
        await loop.value
    }

    /// Dropping a stream cancels its request: a waiting one leaves the queue, a running one frees its
    /// row; the other rows continue unchanged.
    func testDroppedStreamsAreCancelled() async throws {
        let reference = Generator(model: try Self.loadModel(), tokenizer: MockTokenizer())
        let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: MockTokenizer())
        let kept = BatchRequest(promptTokens: [1, 2], config: config(maxTokens: 60, sampled: true))
        let keptStream = try await scheduler.submit(kept)
        do {
            _ = try await scheduler.submit(BatchRequest(promptTokens: [4, 5]))
        }  // dropped before the loop runs
        try await waitFor(scheduler) { $0.queuedRequests == 1 }
        let loop = Task { await scheduler.run() }
        do {
            let dropped = try await scheduler.submit(BatchRequest(promptTokens: [9, 8, 7], config: config(maxTokens: 60, sampled: false)))
            var it = dropped.makeAsyncIterator()
            _ = try await it.next()
            _ = try await it.next()
        }  // the stream and its iterator are gone here: the request is cancelled
        let got = try await collect(keptStream)
        XCTAssertEqual(got.results[0], try reference.generate(promptTokens: kept.promptTokens, config: kept.config, adapter: .none))
        try await waitFor(scheduler) { $0.runningSequences == 0 && $0.queuedRequests == 0 }
        loop.cancel()
        await loop.value
    }

    /// Polls the scheduler's statistics until `condition` holds (fails after ~10 s).
    private func waitFor(_ scheduler: BatchScheduler, line: UInt = #line, _ condition: (BatchStatistics) -> Bool) async throws {
        for _ in 0..<1000 {
            if condition(await scheduler.statistics()) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        let last = await scheduler.statistics()
        XCTFail("condition never held: \(last)", line: line)
    }

    /// Bad requests are refused with typed errors; a full queue refuses with `queueFull`.
    func testRefusals() async throws {
        let model = try Self.loadModel()
        let limit = model.description.maxPositions
        let scheduler = BatchScheduler(model: model, tokenizer: MockTokenizer(), options: .init(maxBatchSize: 2, maxQueuedRequests: 1))
        await assertRefused(scheduler, BatchRequest(promptTokens: []), .emptyPrompt)
        await assertRefused(scheduler, BatchRequest(promptTokens: Array(repeating: 1, count: limit)),
                            .promptTooLong(tokens: limit, limit: limit))
        await assertRefused(scheduler, BatchRequest(promptTokens: [1], adapter: "missing"), .unknownAdapter("missing"))
        await assertRefused(scheduler, BatchRequest(promptTokens: [1], choices: 3), .invalidChoices(3, limit: 2))
        do {
            _ = try await scheduler.submit(BatchRequest(promptTokens: [1], config: GenerationConfig(topP: 0)))
            XCTFail("bad config accepted")
        } catch let error as GenerationError {
            guard case .invalidConfig(let field, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "topP")
        }
        do {
            _ = try await scheduler.submit(BatchRequest(promptTokens: [500]))
            XCTFail("token outside the vocabulary accepted")
        } catch is GenerationError {}
        // The loop is not running: the first request waits and fills the queue.
        let waiting = try await scheduler.submit(BatchRequest(promptTokens: [1]))
        await assertRefused(scheduler, BatchRequest(promptTokens: [2]), .queueFull(limit: 1))
        let loop = Task { await scheduler.run() }
        let got = try await collect(waiting)
        XCTAssertEqual(got.results[0]?.finishReason, .length)
        XCTAssertEqual(got.tokens[0], got.results[0]?.tokenIDs)
        loop.cancel()
        await loop.value
        await assertRefused(scheduler, BatchRequest(promptTokens: [1]), .shutDown)
    }

    private func assertRefused(_ scheduler: BatchScheduler, _ request: BatchRequest, _ expected: BatchSchedulerError,
                               line: UInt = #line) async {
        do {
            _ = try await scheduler.submit(request)
            XCTFail("accepted", line: line)
        } catch {
            XCTAssertEqual(error as? BatchSchedulerError, expected, line: line)
        }
    }

    /// Rows of different adapters share a batch and each sees only its own adapter.
    func testAdaptersPerRowInOneBatch() async throws {
        let adapterURL = Fixtures.url("PEFTTests", "peft-adapter")
        let reference = Generator(model: try Self.loadModel(), tokenizer: MockTokenizer())
        try Adapters.load(from: adapterURL, into: reference.model, name: "tuned")
        let served = try Self.loadModel()
        try Adapters.load(from: adapterURL, into: served, name: "tuned")
        try Adapters.setActiveAdapter(nil, in: served)
        let probe = ModelInput(tokens: [3, 14, 15], logits: .last)
        let routed = try AdapterRouting.$selection.withValue(.perRow(["tuned"])) { try served.forward(probe, cache: nil) }.scalars
        let base = try AdapterRouting.$selection.withValue(.perRow([nil])) { try served.forward(probe, cache: nil) }.scalars
        try XCTSkipIf(routed == base, "adapter layers do not read AdapterRouting yet")

        let scheduler = BatchScheduler(model: served, tokenizer: MockTokenizer())
        XCTAssertEqual(scheduler.adapterNames, ["tuned"])
        let prompt = [3, 14, 15, 92, 65]
        let greedy = config(maxTokens: 12, sampled: false)
        let tunedStream = try await scheduler.submit(BatchRequest(promptTokens: prompt, config: greedy, adapter: "tuned"))
        let baseStream = try await scheduler.submit(BatchRequest(promptTokens: prompt, config: greedy, adapter: nil))
        let loop = Task { await scheduler.run() }
        let tuned = try await collect(tunedStream).results[0]?.tokenIDs
        let plain = try await collect(baseStream).results[0]?.tokenIDs
        XCTAssertEqual(tuned, try reference.generate(promptTokens: prompt, config: greedy, adapter: .named("tuned")).tokenIDs)
        XCTAssertEqual(plain, try reference.generate(promptTokens: prompt, config: greedy, adapter: .none).tokenIDs)
        XCTAssertNotEqual(tuned, plain)
        let prefills = await scheduler.statistics().prefillPasses
        XCTAssertEqual(prefills, 1, "both prompts, each with its adapter, were prefilled in one pass")
        loop.cancel()
        await loop.value
    }

    /// Gathering cache rows keeps each row's positions and right-aligns them.
    func testGatheringCacheRows() throws {
        let model = try Self.loadModel()
        let a = model.makeCache(batchSize: 1), b = model.makeCache(batchSize: 1)
        _ = try model.forward(ModelInput(tokens: [1, 2, 3, 4, 5], logits: .last), cache: a)
        _ = try model.forward(ModelInput(tokens: [7, 8], logits: .last), cache: b)
        let gathered = try KVCache(gathering: [KVCache.RowSlice(cache: a, row: 0), KVCache.RowSlice(cache: b, row: 0)])
        XCTAssertEqual(gathered.batchSize, 2)
        XCTAssertEqual(gathered.length, 5)
        // Decoding one token on the gathered rows equals decoding each row alone.
        let step = ModelInput(tokens: [9, 10], batchSize: 2, positions: [5, 2], keyStart: [0, 3], logits: .last)
        let together = try model.forward(step, cache: gathered).scalars
        let aloneA = try model.forward(ModelInput(tokens: [9], positions: [5], logits: .last), cache: a).scalars
        let aloneB = try model.forward(ModelInput(tokens: [10], positions: [2], logits: .last), cache: b).scalars
        XCTAssertLessThan(maxRelativeError(Array(together[0..<96]), aloneA), 1e-4)
        XCTAssertLessThan(maxRelativeError(Array(together[96...]), aloneB), 1e-4)
        XCTAssertThrowsError(try KVCache(gathering: []))
        XCTAssertThrowsError(try KVCache(gathering: [KVCache.RowSlice(cache: a, row: 1)]))
    }
}
