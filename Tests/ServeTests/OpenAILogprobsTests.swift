import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Serve
import Tailor
import TestSupport
import XCTest

/// `logprobs` on both endpoints, on the tiny Qwen2 of ``OpenAIServerTests``: values equal the
/// log-softmax of the model's own logits computed here from a full forward pass, top lists are
/// sorted and as long as asked, streamed chunks concatenate to the whole answer, rows with and
/// without log-probabilities share a batch, and every bad value is a 400 naming its field.
final class OpenAILogprobsTests: XCTestCase {
    private var modelURL: URL { OpenAIServerTests.modelURL }

    private func withServer(_ body: @Sendable (any TestClientProtocol, OpenAIServer) async throws -> Void) async throws {
        let scheduler = BatchScheduler(model: try OpenAIServerTests.loadModel(), tokenizer: try TokenizerLoader.load(from: modelURL))
        let server = OpenAIServer(scheduler: scheduler, modelName: "tiny")
        let loop = Task { await scheduler.run() }
        defer { loop.cancel() }
        try await Application(router: server.makeRouter()).test(.router) { client in try await body(client, server) }
    }

    private func reference() throws -> Generator {
        Generator(model: try OpenAIServerTests.loadModel(), tokenizer: try TokenizerLoader.load(from: modelURL))
    }

    /// The exact log-softmax (Double) of the logits that predicted each generated token, from one
    /// forward pass without a cache over the prompt and the generated tokens.
    private func exactLogSoftmax(prompt: [Int], generated: [Int]) throws -> [[Double]] {
        let model = try OpenAIServerTests.loadModel()
        let logits = try model.forward(ModelInput(tokens: prompt + generated), cache: nil).scalars
        let v = model.description.vocabularySize
        return generated.indices.map { i in
            let start = (prompt.count - 1 + i) * v
            let row = logits[start..<(start + v)].map(Double.init)
            let top = row.max()!
            let log = Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) }) + top
            return row.map { $0 - log }
        }
    }

    private static func piece(_ tokenizer: any Tokenizer, _ id: Int) -> String {
        String(decoding: tokenizer.bytes(forToken: id), as: UTF8.self)
    }

    /// Completions: `logprobs: 3` on a greedy answer lists every generated token with its exact
    /// log-probability, the top 3 (the chosen token the most probable), and text offsets; `logprobs: 0`
    /// lists only the chosen token in `top_logprobs`.
    func testCompletionLogprobsEqualModelLogSoftmax() async throws {
        let g = try reference()
        var config = GenerationConfig.greedy
        config.maxNewTokens = 10
        let prompt = "def add(a, b):"
        let expected = try g.generate(prompt: prompt, config: config, adapter: .none)
        let promptTokens = g.tokenizer.encode(prompt, addSpecialTokens: true)
        let exact = try exactLogSoftmax(prompt: promptTokens, generated: expected.tokenIDs)
        let tokenizer = g.tokenizer
        try await withServer { client, _ in
            for n in [3, 0] {
                let request = #"{"prompt": "def add(a, b):", "max_tokens": 10, "temperature": 0, "logprobs": \#(n)}"#
                let (status, text) = try await post(client, "/v1/completions", request)
                XCTAssertEqual(status, .ok, text)
                let choice = try XCTUnwrap((try object(text)["choices"] as? [[String: Any]])?.first)
                XCTAssertEqual(choice["text"] as? String, expected.text)
                let logprobs = try XCTUnwrap(choice["logprobs"] as? [String: Any], text)
                let tokens = try XCTUnwrap(logprobs["tokens"] as? [String])
                let values = try XCTUnwrap(logprobs["token_logprobs"] as? [Double])
                let tops = try XCTUnwrap(logprobs["top_logprobs"] as? [[String: Double]])
                let offsets = try XCTUnwrap(logprobs["text_offset"] as? [Int])
                XCTAssertEqual(tokens, expected.tokenIDs.map { Self.piece(tokenizer, $0) })
                XCTAssertEqual([values.count, tops.count, offsets.count], Array(repeating: expected.tokenIDs.count, count: 3))
                for (i, id) in expected.tokenIDs.enumerated() {
                    XCTAssertEqual(values[i], exact[i][id], accuracy: 1e-4, "token \(i)")
                    XCTAssertEqual(exact[i][id], exact[i].max()!, accuracy: 1e-6, "greedy: the argmax")
                    XCTAssertEqual(tops[i][tokens[i]], values[i], "the chosen token is listed")
                    if n == 0 {
                        XCTAssertEqual(tops[i].count, 1)
                    } else {
                        // The n best by value (distinct strings; the chosen one, the best, among them).
                        let best = exact[i].sorted(by: >).prefix(n)
                        XCTAssertEqual(tops[i].values.sorted(by: >), best.map { $0 }, accuracy: 1e-4)
                        XCTAssertEqual(tops[i].values.max(), values[i])
                    }
                }
                XCTAssertEqual(offsets.first, 0)
                XCTAssertEqual(offsets, offsets.sorted(), "offsets never go back")
                XCTAssertLessThanOrEqual(offsets.last ?? 0, expected.text.unicodeScalars.count)
            }
            // Not asked for: null.
            let plain = try await post(client, "/v1/completions", #"{"prompt": "x", "max_tokens": 2, "temperature": 0}"#)
            let choice = try XCTUnwrap((try object(plain.body)["choices"] as? [[String: Any]])?.first)
            XCTAssertTrue(choice["logprobs"] is NSNull, plain.body)
        }
    }

    /// Chat: `logprobs: true, top_logprobs: 5` lists every generated token (the end-of-turn token
    /// included) with its exact log-probability, its bytes, and the 5 best sorted descending with the
    /// chosen token first; without `top_logprobs` the lists are empty; `logprobs: false` gives null.
    func testChatLogprobsEqualModelLogSoftmax() async throws {
        let g = try reference()
        var config = GenerationConfig.greedy
        config.maxNewTokens = 12
        let expected = try g.chat([.user("What is 2+2?")], config: config, adapter: .none)
        let prompt = try ChatPrompt(messages: [.user("What is 2+2?")], tokenizer: g.tokenizer, config: config)
        let exact = try exactLogSoftmax(prompt: prompt.tokens, generated: expected.tokenIDs)
        let tokenizer = g.tokenizer
        try await withServer { client, _ in
            let base = #""messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 12, "temperature": 0"#
            for top in [5, nil] as [Int?] {
                let extra = top.map { #", "logprobs": true, "top_logprobs": \#($0)"# } ?? #", "logprobs": true"#
                let (status, text) = try await post(client, "/v1/chat/completions", "{" + base + extra + "}")
                XCTAssertEqual(status, .ok, text)
                let body = try object(text)
                let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
                XCTAssertEqual((choice["message"] as? [String: Any])?["content"] as? String, expected.text)
                let content = try XCTUnwrap((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]], text)
                XCTAssertEqual(content.count, expected.tokenIDs.count)
                XCTAssertEqual((body["usage"] as? [String: Int])?["completion_tokens"], content.count)
                for (i, id) in expected.tokenIDs.enumerated() {
                    let entry = content[i]
                    XCTAssertEqual(entry["token"] as? String, Self.piece(tokenizer, id))
                    XCTAssertEqual((entry["bytes"] as? [Int])?.map(UInt8.init), tokenizer.bytes(forToken: id))
                    let value = try XCTUnwrap(entry["logprob"] as? Double)
                    XCTAssertEqual(value, exact[i][id], accuracy: 1e-4, "token \(i)")
                    let alternatives = try XCTUnwrap(entry["top_logprobs"] as? [[String: Any]])
                    XCTAssertEqual(alternatives.count, top ?? 0)
                    let values = alternatives.compactMap { $0["logprob"] as? Double }
                    XCTAssertEqual(values, values.sorted(by: >), "sorted descending")
                    XCTAssertEqual(values, Array(exact[i].sorted(by: >).prefix(top ?? 0)), accuracy: 1e-4)
                    if let first = alternatives.first {
                        XCTAssertEqual(first["token"] as? String, entry["token"] as? String, "the greedy token is the best")
                        XCTAssertEqual(first["logprob"] as? Double, value)
                    }
                    for alternative in alternatives {
                        let bytes = try XCTUnwrap((alternative["bytes"] as? [Int])?.map(UInt8.init))
                        XCTAssertEqual(alternative["token"] as? String, String(decoding: bytes, as: UTF8.self))
                    }
                }
            }
            let off = #"{"# + base + #", "logprobs": false}"#
            let (status, text) = try await post(client, "/v1/chat/completions", off)
            XCTAssertEqual(status, .ok, text)
            XCTAssertTrue((try object(text)["choices"] as? [[String: Any]])?.first?["logprobs"] is NSNull, text)
        }
    }

    /// Streamed chunks carry their tokens' log-probabilities; concatenated per choice they equal the
    /// whole response's (seeded sampling, two choices, both endpoints).
    func testStreamedLogprobsConcatenateToWhole() async throws {
        try await withServer { client, _ in
            let completion = #""prompt": "hello", "max_tokens": 14, "temperature": 0.9, "seed": 11, "n": 2, "logprobs": 2"#
            let chat = #""messages": [{"role": "user", "content": "hi"}], "max_tokens": 14, "temperature": 0.9, "seed": 4, "n": 2, "logprobs": true, "top_logprobs": 3"#
            for (uri, fields) in [("/v1/completions", completion), ("/v1/chat/completions", chat)] {
                let isChat = uri.contains("chat")
                let (status, text) = try await post(client, uri, "{" + fields + "}")
                XCTAssertEqual(status, .ok, text)
                var whole: [Int: [String]] = [:], wholeText: [Int: String] = [:]
                for choice in try object(text)["choices"] as? [[String: Any]] ?? [] {
                    let index = try XCTUnwrap(choice["index"] as? Int)
                    whole[index] = try Self.entries(choice["logprobs"], chat: isChat)
                    wholeText[index] = isChat ? (choice["message"] as? [String: Any])?["content"] as? String : choice["text"] as? String
                }
                XCTAssertEqual(whole.keys.sorted(), [0, 1])
                let events = try serverSentEvents(try await post(client, uri, "{" + fields + #", "stream": true}"#).body)
                var streamed: [Int: [String]] = [:], streamedText: [Int: String] = [:]
                for event in events.dropLast() {
                    for choice in try object(event)["choices"] as? [[String: Any]] ?? [] {
                        let index = try XCTUnwrap(choice["index"] as? Int)
                        streamed[index, default: []] += try Self.entries(choice["logprobs"], chat: isChat)
                        let piece = isChat ? (choice["delta"] as? [String: Any])?["content"] as? String : choice["text"] as? String
                        streamedText[index, default: ""] += piece ?? ""
                    }
                }
                XCTAssertEqual(streamedText, wholeText, uri)
                XCTAssertEqual(streamed, whole, uri)
                XCTAssertTrue(whole.values.allSatisfy { !$0.isEmpty })
            }
        }
    }

    /// A choice's log-probabilities as one canonical JSON string per token (legacy: the four lists
    /// zipped), so whole and streamed answers compare exactly.
    private static func entries(_ logprobs: Any?, chat: Bool) throws -> [String] {
        let object = try XCTUnwrap(logprobs as? [String: Any], "logprobs: \(String(describing: logprobs))")
        func canonical(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
        if chat { return try (object["content"] as? [Any] ?? []).map(canonical) }
        let tokens = object["tokens"] as? [Any] ?? [], values = object["token_logprobs"] as? [Any] ?? []
        let tops = object["top_logprobs"] as? [Any] ?? [], offsets = object["text_offset"] as? [Any] ?? []
        XCTAssertEqual(Set([tokens.count, values.count, tops.count, offsets.count]).count, 1)
        return try tokens.indices.map { try canonical([tokens[$0], values[$0], tops[$0], offsets[$0]]) }
    }

    /// One request with log-probabilities and one without, in the same batch (both queued before the
    /// scheduler starts): each answer equals the generator's, and only the first carries log-probabilities.
    func testMixedBatchWithAndWithoutLogprobs() async throws {
        let g = try reference()
        var config = GenerationConfig.greedy
        config.maxNewTokens = 16
        let first = try g.generate(prompt: "def add(a, b):", config: config, adapter: .none)
        let second = try g.generate(prompt: "once upon", config: config, adapter: .none)
        let exact = try exactLogSoftmax(prompt: g.tokenizer.encode("def add(a, b):", addSpecialTokens: true),
                                        generated: first.tokenIDs)
        let scheduler = BatchScheduler(model: try OpenAIServerTests.loadModel(), tokenizer: try TokenizerLoader.load(from: modelURL))
        let server = OpenAIServer(scheduler: scheduler, modelName: "tiny")
        try await Application(router: server.makeRouter()).test(.router) { client in
            async let withLogprobs = post(client, "/v1/completions",
                                          #"{"prompt": "def add(a, b):", "max_tokens": 16, "temperature": 0, "logprobs": 1}"#)
            async let without = post(client, "/v1/completions", #"{"prompt": "once upon", "max_tokens": 16, "temperature": 0}"#)
            for _ in 0..<1000 where await scheduler.statistics().queuedRequests < 2 { try await Task.sleep(for: .milliseconds(5)) }
            let queued = await scheduler.statistics().queuedRequests
            XCTAssertEqual(queued, 2)
            let loop = Task { await scheduler.run() }
            defer { loop.cancel() }
            let (a, b) = try await (withLogprobs, without)
            XCTAssertEqual(a.status, .ok, a.body)
            XCTAssertEqual(b.status, .ok, b.body)
            let choiceA = try XCTUnwrap((try object(a.body)["choices"] as? [[String: Any]])?.first)
            let choiceB = try XCTUnwrap((try object(b.body)["choices"] as? [[String: Any]])?.first)
            XCTAssertEqual(choiceA["text"] as? String, first.text)
            XCTAssertEqual(choiceB["text"] as? String, second.text)
            XCTAssertTrue(choiceB["logprobs"] is NSNull)
            let values = try XCTUnwrap((choiceA["logprobs"] as? [String: Any])?["token_logprobs"] as? [Double])
            XCTAssertEqual(values.count, first.tokenIDs.count)
            for (i, id) in first.tokenIDs.enumerated() { XCTAssertEqual(values[i], exact[i][id], accuracy: 1e-4) }
            let stats = await scheduler.statistics()
            XCTAssertEqual(stats.largestBatch, 2, "the two requests ran in one batch")
        }
    }

    /// Every bad `logprobs` / `top_logprobs` value is a 400 with OpenAI's error object naming the field.
    func testInvalidLogprobsValues() async throws {
        try await withServer { client, _ in
            let chat = #""messages": [{"role": "user", "content": "hi"}]"#
            let cases: [(uri: String, body: String, param: String)] = [
                ("/v1/completions", #"{"prompt": "x", "logprobs": 6}"#, "logprobs"),
                ("/v1/completions", #"{"prompt": "x", "logprobs": -1}"#, "logprobs"),
                ("/v1/completions", #"{"prompt": "x", "logprobs": true}"#, "logprobs"),
                ("/v1/completions", #"{"prompt": "x", "logprobs": 2.5}"#, "logprobs"),
                ("/v1/completions", #"{"prompt": "x", "logprobs": "3"}"#, "logprobs"),
                ("/v1/completions", #"{"prompt": "x", "logprobs": 2, "echo": true}"#, "echo"),
                ("/v1/chat/completions", "{" + chat + #", "top_logprobs": 3}"#, "top_logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": false, "top_logprobs": 0}"#, "top_logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": true, "top_logprobs": 21}"#, "top_logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": true, "top_logprobs": -1}"#, "top_logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": true, "top_logprobs": "5"}"#, "top_logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": true, "top_logprobs": 1.5}"#, "top_logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": 2}"#, "logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": "yes"}"#, "logprobs"),
                ("/v1/chat/completions", "{" + chat + #", "logprobs": [true]}"#, "logprobs"),
            ]
            for c in cases {
                for stream in [false, true] {
                    let body = stream ? String(c.body.dropLast()) + #", "stream": true}"# : c.body
                    let (status, text) = try await post(client, c.uri, body)
                    XCTAssertEqual(status, .badRequest, "\(body): \(text)")
                    let error = try XCTUnwrap(try object(text)["error"] as? [String: Any], text)
                    XCTAssertEqual(error["type"] as? String, "invalid_request_error", body)
                    XCTAssertEqual(error["param"] as? String, c.param, body)
                    XCTAssertEqual(error["code"] as? String, "invalid_value", body)
                    XCTAssertNotNil(error["message"] as? String)
                }
            }
        }
    }

    /// A byte-level piece that is only part of a UTF-8 character keeps its exact `bytes` (chat), shows
    /// its lossy decoding as `token`, and its text offset is the character it belongs to; a −infinity
    /// log-probability is sent as −9999.
    func testBytePiecesAndNonFiniteValues() throws {
        let tokenizer = try TokenizerLoader.load(from: modelURL)
        let ids = tokenizer.encode("a中b", addSpecialTokens: false)
        let bytes = ids.map { tokenizer.bytes(forToken: $0) }
        XCTAssertEqual(bytes.flatMap { $0 }, Array("a中b".utf8))
        let split = try XCTUnwrap(ids.indices.first { String(validating: bytes[$0], as: UTF8.self) == nil },
                                  "the tiny vocabulary splits 中 into byte pieces: \(bytes)")
        let lp = TokenLogprobs(logprob: -0.5, top: [.init(token: ids[split], logprob: -0.5), .init(token: ids[0], logprob: -.infinity)])
        var chat = ChoiceLogprobs(kind: .chat, tokenizer: tokenizer)
        var legacy = ChoiceLogprobs(kind: .text, tokenizer: tokenizer)
        for id in ids {
            chat.append(id, lp)
            legacy.append(id, lp)
        }
        let content = chat.takeChat().content
        XCTAssertEqual(content.map(\.bytes), bytes)
        XCTAssertEqual(content[split].token, String(decoding: bytes[split], as: UTF8.self))
        XCTAssertTrue(content[split].token.contains("\u{FFFD}"))
        XCTAssertEqual(content[split].topLogprobs.map(\.bytes), [bytes[split], bytes[0]])
        XCTAssertEqual(content[split].topLogprobs.map(\.logprob), [-0.5, -9999])
        let object = legacy.takeCompletion()
        XCTAssertEqual(object.tokens, content.map(\.token))
        // Offsets: "a" at 0, every piece of 中 at 1, "b" at 2 (however the pieces fall).
        var expectedOffsets: [Int] = [], seen: [UInt8] = []
        for piece in bytes {
            let before = String(decoding: seen, as: UTF8.self).unicodeScalars.count
            let starts = piece.first.map { $0 & 0xC0 == 0x80 } == true
            expectedOffsets.append(starts ? before - 1 : before)
            seen += piece
        }
        XCTAssertEqual(object.textOffset, expectedOffsets)
        XCTAssertEqual(object.textOffset.first, 0)
        XCTAssertEqual(object.textOffset.last, 2)
        let json = String(decoding: try OpenAIServer.encoder.encode(object), as: UTF8.self)
        XCTAssertTrue(json.contains("-9999"), json)
        XCTAssertTrue(legacy.isEmpty && chat.isEmpty, "taken")
    }
}

/// Element-wise equality within `accuracy`.
private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "counts", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
