import Foundation
import XCTest
import Generate

final class GenerationStreamTests: XCTestCase {
    /// A stand-in generation loop: emits fixed tokens through a TextStreamer, honouring cancellation.
    static func fakeGeneration(_ tokens: [Int], config: GenerationConfig = GenerationConfig(),
                               pause: Bool = false) -> GenerationStream {
        GenerationStream { sink in
            var streamer = TextStreamer(config: config, tokenizer: MockTokenizer(), promptTokenCount: 1)
            for id in tokens where !streamer.isFinished {
                if pause { try? await Task.sleep(nanoseconds: 2_000_000) }
                if sink.isCancelled { streamer.cancel(); break }
                sink.yield(.token(id: id, text: streamer.append(token: id).text))
            }
            if !streamer.isFinished { streamer.cancel() }
            return streamer.result!
        }
    }

    func testEventsEndWithTheResult() async throws {
        var events: [GenerationEvent] = []
        for try await event in Self.fakeGeneration([256, 257, 258, MockTokenizer.eos]) { events.append(event) }
        XCTAssertEqual(events.count, 5)
        XCTAssertEqual(events[0], .token(id: 256, text: "Hello"))
        guard case let .finished(result) = events.last else { return XCTFail("no finished event") }
        XCTAssertEqual(result.text, "Hello world")
        XCTAssertEqual(result.finishReason, .endOfSequence(token: MockTokenizer.eos))
    }

    func testTextDeltasSkipEmptyPieces() async throws {
        var pieces: [String] = []
        for try await piece in Self.fakeGeneration([259, 260, 256, MockTokenizer.eos]).textDeltas { pieces.append(piece) }
        XCTAssertEqual(pieces, ["中 ", "Hello"])
    }

    func testResultCollectsTheFinalResult() async throws {
        let result = try await Self.fakeGeneration([256, 257, 258], config: GenerationConfig(maxNewTokens: 2)).result()
        XCTAssertEqual(result.text, "Hello wor")
        XCTAssertEqual(result.finishReason, .length)
    }

    func testBodyErrorsReachTheConsumer() async {
        struct Boom: Error {}
        let stream = GenerationStream { _ in throw Boom() }
        do {
            _ = try await stream.result()
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error is Boom)
        }
    }

    func testCancelStopsTheLoop() async throws {
        let stream = Self.fakeGeneration(Array(repeating: 65, count: 10_000), config: GenerationConfig(maxNewTokens: 10_000),
                                         pause: true)
        var seen = 0
        var finalResult: GenerationResult?
        for try await event in stream {
            switch event {
            case .token:
                seen += 1
                if seen == 3 { stream.cancel() }
            case let .finished(result):
                finalResult = result
            }
        }
        let result = try XCTUnwrap(finalResult)
        XCTAssertEqual(result.finishReason, .cancelled)
        XCTAssertLessThan(result.tokenIDs.count, 10_000)
    }

    func testCancellationIsVisibleToALoopOnAnotherThread() async throws {
        let stream = GenerationStream { sink in
            // The loop runs on a plain thread, outside the body's task; it gives up after about 5 s.
            let observed = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
                Thread {
                    for _ in 0..<5_000 {
                        if sink.isCancelled { return done.resume(returning: true) }
                        sink.yield(.token(id: 65, text: "A"))
                        Thread.sleep(forTimeInterval: 0.001)
                    }
                    done.resume(returning: false)
                }.start()
            }
            return GenerationResult(text: "", tokenIDs: [], finishReason: observed ? .cancelled : .length,
                                    promptTokenCount: 0)
        }
        var seen = 0
        var reason: FinishReason?
        for try await event in stream {
            switch event {
            case .token:
                seen += 1
                if seen == 5 { stream.cancel() }
            case let .finished(result):
                reason = result.finishReason
            }
        }
        XCTAssertEqual(reason, .cancelled)
    }
}
