import Foundation
import Hummingbird
import HummingbirdTesting
import Serve
import Tailor
import TestSupport
import XCTest

/// The HTTP API on the tiny Qwen2 with its byte-level tokenizer and chat template (the CLI's
/// fixture, Tests/GenerateTests/Fixtures/cli): answers must equal ``Generator``'s for the same
/// settings, streams must carry the same text in OpenAI's chunk format, and every bad request must
/// get OpenAI's error object with the right status.
final class OpenAIServerTests: XCTestCase {
    static let fixtures = Fixtures.url("GenerateTests", "cli")
    static var modelURL: URL { fixtures.appendingPathComponent("tiny-qwen2") }
    private var modelURL: URL { Self.modelURL }

    /// The model with the adapter "tuned" loaded but inactive (static, so the result belongs to no one).
    static func loadModel() throws -> any CausalLanguageModel {
        let model = try LanguageModel.loadModel(from: modelURL)
        try Adapters.load(from: Self.fixtures.appendingPathComponent("adapter"), into: model, name: "tuned")
        try Adapters.setActiveAdapter(nil, in: model)
        return model
    }

    /// Runs `body` against a server (its scheduler running) in Hummingbird's router test mode.
    private func withServer(options: BatchScheduler.Options = .init(),
                            _ body: @Sendable (any TestClientProtocol, OpenAIServer) async throws -> Void) async throws {
        let tokenizer = try TokenizerLoader.load(from: modelURL)
        let scheduler = BatchScheduler(model: try Self.loadModel(), tokenizer: tokenizer, options: options)
        let server = OpenAIServer(scheduler: scheduler, modelName: "tiny")
        let loop = Task { await scheduler.run() }
        defer { loop.cancel() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in try await body(client, server) }
    }

    private func reference() throws -> Generator {
        Generator(model: try Self.loadModel(), tokenizer: try TokenizerLoader.load(from: modelURL))
    }

    func testHealthAndModels() async throws {
        try await withServer { client, _ in
            let health = try await client.execute(uri: "/health", method: .get) { ($0.status, String(buffer: $0.body)) }
            XCTAssertEqual(health.0, .ok)
            let models = try await client.execute(uri: "/v1/models", method: .get) { String(buffer: $0.body) }
            let data = try XCTUnwrap(try object(models)["data"] as? [[String: Any]])
            XCTAssertEqual(data.compactMap { $0["id"] as? String }, ["tiny", "tuned"])
        }
    }

    /// A greedy completion equals the generator's, with usage; the stream carries the same text.
    func testCompletionWholeAndStreamed() async throws {
        let g = try reference()
        let prompt = "def add(a, b):"
        var config = GenerationConfig.greedy
        config.maxNewTokens = 9
        let expected = try g.generate(prompt: prompt, config: config, adapter: .none)
        try await withServer { client, _ in
            let request = #"{"model": "tiny", "prompt": "def add(a, b):", "max_tokens": 9, "temperature": 0}"#
            let (status, text) = try await post(client, "/v1/completions", request)
            XCTAssertEqual(status, .ok, text)
            let body = try object(text)
            XCTAssertEqual(body["object"] as? String, "text_completion")
            let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
            XCTAssertEqual(choice["text"] as? String, expected.text)
            XCTAssertEqual(choice["finish_reason"] as? String, expected.finishReason == .length ? "length" : "stop")
            let usage = try XCTUnwrap(body["usage"] as? [String: Int])
            XCTAssertEqual(usage["prompt_tokens"], expected.promptTokenCount)
            XCTAssertEqual(usage["completion_tokens"], expected.tokenIDs.count)
            XCTAssertEqual(usage["total_tokens"], expected.promptTokenCount + expected.tokenIDs.count)

            let streamed = #"{"prompt": "def add(a, b):", "max_tokens": 9, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}"#
            let (streamStatus, events) = try await post(client, "/v1/completions", streamed)
            XCTAssertEqual(streamStatus, .ok)
            let chunks = try serverSentEvents(events)
            XCTAssertEqual(chunks.last, "[DONE]")
            var joined = "", reasons: [String] = [], usageSeen = false
            for chunk in chunks.dropLast() {
                let c = try object(chunk)
                XCTAssertEqual(c["object"] as? String, "text_completion")
                for choice in c["choices"] as? [[String: Any]] ?? [] {
                    joined += choice["text"] as? String ?? ""
                    if let r = choice["finish_reason"] as? String { reasons.append(r) }
                }
                if let u = c["usage"] as? [String: Int] { usageSeen = u["completion_tokens"] == expected.tokenIDs.count }
            }
            XCTAssertEqual(joined, expected.text)
            XCTAssertEqual(reasons.count, 1)
            XCTAssertTrue(usageSeen)
        }
    }

    /// Seeded sampling with n = 2: choice i equals the generator with seed + i.
    func testSeededChoices() async throws {
        let g = try reference()
        var config = GenerationConfig(maxNewTokens: 12, temperature: 0.9, topK: 0, topP: 0.95, seed: 42)
        let probes = try (0..<2).map { i -> GenerationResult in
            var c = config
            c.seed = 42 + UInt64(i)
            return try g.generate(prompt: "hello", config: c, adapter: .none)
        }
        try await withServer { client, _ in
            let request = #"{"prompt": "hello", "max_tokens": 12, "temperature": 0.9, "top_p": 0.95, "seed": 42, "n": 2}"#
            let (status, text) = try await post(client, "/v1/completions", request)
            XCTAssertEqual(status, .ok, text)
            let choices = try XCTUnwrap(try object(text)["choices"] as? [[String: Any]])
            XCTAssertEqual(choices.map { $0["text"] as? String }, probes.map(\.text))
            XCTAssertEqual(choices.map { $0["index"] as? Int }, [0, 1])
        }
    }

    /// A chat answer equals `Generator.chat`; the stream starts with the assistant role.
    func testChatWholeAndStreamed() async throws {
        let g = try reference()
        var config = GenerationConfig.greedy
        config.maxNewTokens = 10
        let expected = try g.chat([.user("What is 2+2?")], config: config, adapter: .none)
        try await withServer { client, _ in
            let request = #"{"model": "tiny", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 10, "temperature": 0}"#
            let (status, text) = try await post(client, "/v1/chat/completions", request)
            XCTAssertEqual(status, .ok, text)
            let body = try object(text)
            XCTAssertEqual(body["object"] as? String, "chat.completion")
            let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
            let message = try XCTUnwrap(choice["message"] as? [String: Any])
            XCTAssertEqual(message["role"] as? String, "assistant")
            XCTAssertEqual(message["content"] as? String, expected.text)
            XCTAssertNotNil(body["usage"] as? [String: Int])

            let streamed = request.replacingOccurrences(of: #""temperature": 0"#, with: #""temperature": 0, "stream": true"#)
            let chunks = try serverSentEvents(try await post(client, "/v1/chat/completions", streamed).body)
            XCTAssertEqual(chunks.last, "[DONE]")
            var joined = "", roles: [String] = []
            for chunk in chunks.dropLast() {
                let c = try object(chunk)
                XCTAssertEqual(c["object"] as? String, "chat.completion.chunk")
                for choice in c["choices"] as? [[String: Any]] ?? [] {
                    let delta = choice["delta"] as? [String: Any] ?? [:]
                    joined += delta["content"] as? String ?? ""
                    if let r = delta["role"] as? String { roles.append(r) }
                }
            }
            XCTAssertEqual(joined, expected.text)
            XCTAssertEqual(roles, ["assistant"])
        }
    }

    /// The adapter is chosen by `model`; answers differ from the base only through the adapter.
    func testAdapterSelectedByModel() async throws {
        try await withServer { client, _ in
            let tuned = #"{"model": "tuned", "prompt": "hello", "max_tokens": 6, "temperature": 0}"#
            let (status, text) = try await post(client, "/v1/completions", tuned)
            XCTAssertEqual(status, .ok, text)
            XCTAssertEqual(try object(text)["model"] as? String, "tuned")
        }
    }

    /// Every bad request gets a 400 (or 429) with OpenAI's error object.
    func testErrors() async throws {
        try await withServer { client, server in
            let limit = server.scheduler.modelDescription.maxPositions
            let cases: [(uri: String, body: String, param: String?, code: String?)] = [
                ("/v1/completions", "{not json", nil, "invalid_json"),
                ("/v1/completions", #"{"max_tokens": 3}"#, nil, "invalid_json"),
                ("/v1/completions", #"{"prompt": 5}"#, nil, "invalid_json"),
                ("/v1/completions", #"{"model": "nope", "prompt": "x"}"#, "model", "model_not_found"),
                ("/v1/completions", #"{"prompt": "x", "temperature": 3}"#, "temperature", "invalid_value"),
                ("/v1/completions", #"{"prompt": "x", "top_p": 0}"#, "top_p", "invalid_value"),
                ("/v1/completions", #"{"prompt": "x", "max_tokens": 0}"#, "max_tokens", "invalid_value"),
                ("/v1/completions", #"{"prompt": "x", "n": 0}"#, "n", "invalid_value"),
                ("/v1/completions", #"{"prompt": "x", "presence_penalty": 9}"#, "presence_penalty", "invalid_value"),
                ("/v1/completions", #"{"prompt": ""}"#, "prompt", "invalid_value"),
                ("/v1/completions", "{\"prompt\": \"" + String(repeating: "a ", count: limit + 4) + "\"}", "messages", "context_length_exceeded"),
                ("/v1/chat/completions", #"{"messages": []}"#, "messages", "invalid_value"),
                ("/v1/chat/completions", #"{"messages": [{"role": "wizard", "content": "hi"}]}"#, "messages", "invalid_value"),
                ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": 7}]}"#, nil, nil),
            ]
            for c in cases {
                let (status, text) = try await post(client, c.uri, c.body)
                XCTAssertEqual(status, .badRequest, "\(c.body.prefix(60)): \(text)")
                let error = try XCTUnwrap(try object(text)["error"] as? [String: Any], text)
                XCTAssertNotNil(error["message"] as? String)
                XCTAssertEqual(error["type"] as? String, "invalid_request_error")
                XCTAssertTrue(error.keys.contains("param") && error.keys.contains("code"), text)
                if let code = c.code { XCTAssertEqual(error["code"] as? String, code, c.body) }
                if let param = c.param { XCTAssertEqual(error["param"] as? String, param, c.body) }
            }
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            XCTAssertTrue(metrics.contains(#"tailor_requests_total{endpoint="completions",status="400"}"#), metrics)
            XCTAssertTrue(metrics.contains("tailor_kv_cache_bytes"))
        }
    }

    /// Past the queue limit requests get 429 with a rate-limit error.
    func testFullQueueAnswers429() async throws {
        try await withServer(options: .init(maxBatchSize: 1, maxQueuedRequests: 0)) { client, _ in
            let (status, text) = try await post(client, "/v1/completions", #"{"prompt": "x"}"#)
            XCTAssertEqual(status, .tooManyRequests)
            let error = try XCTUnwrap(try object(text)["error"] as? [String: Any])
            XCTAssertEqual(error["type"] as? String, "rate_limit_error")
            XCTAssertEqual(error["code"] as? String, "rate_limit_exceeded")
        }
    }

    /// After some requests the metrics count tokens and latencies.
    func testMetrics() async throws {
        try await withServer { client, _ in
            let answer = try await post(client, "/v1/completions", #"{"prompt": "abc", "max_tokens": 4, "temperature": 0}"#)
            let usage = try XCTUnwrap(try object(answer.body)["usage"] as? [String: Int])
            let prompt = try XCTUnwrap(usage["prompt_tokens"]), generated = try XCTUnwrap(usage["completion_tokens"])
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            for name in ["tailor_prompt_tokens_total \(prompt)", "tailor_generated_tokens_total \(generated)",
                         "tailor_time_to_first_token_seconds_count 1",
                         "tailor_inter_token_latency_seconds_count \(generated - 1)", "tailor_queue_depth 0", "tailor_running_sequences",
                         #"tailor_requests_total{endpoint="completions",status="200"} 1"#] {
                XCTAssertTrue(text.contains(name), "\(name) in \(text)")
            }
        }
    }
}

func post(_ client: any TestClientProtocol, _ uri: String, _ json: String) async throws -> (status: HTTPResponse.Status, body: String) {
    try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"],
                             body: ByteBuffer(string: json)) { ($0.status, String(buffer: $0.body)) }
}

func object(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
}

/// The `data:` payloads of a server-sent event stream.
func serverSentEvents(_ text: String) throws -> [String] {
    text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
        XCTAssertTrue(event.hasPrefix("data: "), event)
        return String(event.dropFirst("data: ".count))
    }
}
