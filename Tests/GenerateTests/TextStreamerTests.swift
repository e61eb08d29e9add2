import XCTest
import Generate

final class TextStreamerTests: XCTestCase {
    let tokenizer = MockTokenizer()

    /// Appends `tokens` until the streamer finishes; returns the deltas and the result.
    func stream(_ tokens: [Int], _ config: GenerationConfig, skipSpecial: Bool = true) -> ([String], GenerationResult?) {
        var streamer = TextStreamer(config: config, tokenizer: tokenizer, promptTokenCount: 3, skipSpecialTokens: skipSpecial)
        var deltas: [String] = []
        for token in tokens where !streamer.isFinished {
            deltas.append(streamer.append(token: token).text)
        }
        return (deltas, streamer.result)
    }

    func testEOSEndsGenerationAndIsNotEmitted() throws {
        let (deltas, result) = stream([256, 257, 258, MockTokenizer.eos, 256], GenerationConfig())
        XCTAssertEqual(deltas, ["Hello", " wor", "ld", ""])
        let r = try XCTUnwrap(result)
        XCTAssertEqual(r.text, "Hello world")
        XCTAssertEqual(r.tokenIDs, [256, 257, 258, MockTokenizer.eos])
        XCTAssertEqual(r.finishReason, .endOfSequence(token: MockTokenizer.eos))
        XCTAssertEqual(r.promptTokenCount, 3)
    }

    func testStopOnEOSCanBeTurnedOffAndStopTokenIDsAdded() throws {
        let config = GenerationConfig(stopTokenIDs: [MockTokenizer.imEnd], stopOnEOS: false)
        let (deltas, result) = stream([256, MockTokenizer.eos, 258, MockTokenizer.imEnd], config, skipSpecial: false)
        XCTAssertEqual(deltas, ["Hello", "</s>", "ld", ""])
        XCTAssertEqual(result?.finishReason, .endOfSequence(token: MockTokenizer.imEnd))
    }

    func testSpecialTokensAreSkippedUnlessAsked() {
        XCTAssertEqual(stream([256, MockTokenizer.special, 258], GenerationConfig(maxNewTokens: 3)).1?.text, "Hellold")
        XCTAssertEqual(stream([256, MockTokenizer.special, 258], GenerationConfig(maxNewTokens: 3), skipSpecial: false).1?.text,
                       "Hello<|tool|>ld")
    }

    func testCharactersSplitAcrossTokensAreEmittedWhole() {
        let (deltas, result) = stream([259, 260, 261, 262, MockTokenizer.eos], GenerationConfig())
        XCTAssertEqual(deltas, ["", "中 ", "", "😀", ""])
        XCTAssertEqual(result?.text, "中 😀")
    }

    func testStopStringAcrossTokens() throws {
        let config = GenerationConfig(stopStrings: ["world"])
        let (deltas, result) = stream([256, 257, 258, 256], config)
        XCTAssertEqual(deltas, ["Hello", " ", ""])
        let r = try XCTUnwrap(result)
        XCTAssertEqual(r.text, "Hello ")
        XCTAssertEqual(r.finishReason, .stopString("world"))
        XCTAssertEqual(r.tokenIDs, [256, 257, 258])
    }

    func testLengthLimitFlushesHeldBackText() throws {
        // " wor" could start the stop " world!", and the limit ends generation right there: it is released.
        let config = GenerationConfig(maxNewTokens: 2, stopStrings: [" world!"])
        let (deltas, result) = stream([256, 257, 258], config)
        XCTAssertEqual(deltas, ["Hello", " wor"])
        XCTAssertEqual(result?.finishReason, .length)
        // An incomplete character at the limit becomes U+FFFD, as a full decode would show it.
        XCTAssertEqual(stream([256, 259], GenerationConfig(maxNewTokens: 2)).1?.text, "Hello\u{FFFD}")
    }

    func testZeroMaxNewTokensIsFinishedImmediately() {
        let streamer = TextStreamer(config: GenerationConfig(maxNewTokens: 0), tokenizer: tokenizer)
        XCTAssertEqual(streamer.result?.finishReason, .length)
        XCTAssertEqual(streamer.result?.tokenIDs, [])
    }

    func testCancelDiscardsHeldTextAndIgnoresLaterTokens() {
        var streamer = TextStreamer(config: GenerationConfig(stopStrings: ["lo!"]), tokenizer: tokenizer)
        XCTAssertEqual(streamer.append(token: 256).text, "Hel")  // "lo" is held: it may begin "lo!"
        streamer.cancel()
        XCTAssertEqual(streamer.append(token: 258), .init(text: "", finishReason: nil))
        XCTAssertEqual(streamer.result, GenerationResult(text: "Hel", tokenIDs: [256], finishReason: .cancelled,
                                                         promptTokenCount: 0))
    }

    func testResultTextIsTheConcatenationOfDeltas() {
        for config in [GenerationConfig(maxNewTokens: 4), GenerationConfig(stopStrings: ["d", "中"]),
                       GenerationConfig(maxNewTokens: 5, stopStrings: ["😀!"])] {
            let (deltas, result) = stream([256, 259, 260, 257, 261, 262, 258, MockTokenizer.eos], config)
            XCTAssertEqual(deltas.joined(), result?.text)
        }
    }
}
