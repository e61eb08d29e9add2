import Foundation
import Hummingbird
import Logging
import Tailor

/// An OpenAI-compatible HTTP server over a ``BatchScheduler``:
/// `POST /v1/completions`, `POST /v1/chat/completions` (both with `stream: true` as server-sent
/// events), `GET /v1/models`, `GET /health` and `GET /metrics` (Prometheus text).
///
/// The request's `model` picks the base model (by ``modelName``) or a loaded adapter (by its
/// name). Every failure is answered with OpenAI's error object: 400 for malformed JSON, unknown
/// models, bad values and prompts longer than the context, 429 when the scheduler's queue is full.
public struct OpenAIServer: Sendable {
    /// The scheduler running the model.
    public let scheduler: BatchScheduler
    /// The id the base model is listed and selected under.
    public let modelName: String
    /// The metrics served at `/metrics`.
    public let metrics: ServerMetrics
    /// Where request logs go.
    public let logger: Logger
    /// The chat template of `/v1/chat/completions` (nil: the chat endpoint answers 400).
    public let chatTemplate: ChatTemplate?
    /// Largest accepted request body.
    public var maxBodyBytes = 4 << 20
    let created = Int(Date().timeIntervalSince1970)

    /// A server for `scheduler`, listing its model as `modelName`; chats use `chatTemplate`, by
    /// default the one detected from the tokenizer.
    public init(scheduler: BatchScheduler, modelName: String, chatTemplate: ChatTemplate? = nil,
                metrics: ServerMetrics = ServerMetrics(), logger: Logger = Logger(label: "tailor.serve")) {
        self.scheduler = scheduler
        self.chatTemplate = chatTemplate ?? ChatTemplate.detect(tokenizer: scheduler.tokenizer)
        self.modelName = modelName
        self.metrics = metrics
        self.logger = logger
    }

    /// The routes.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in
            self.json(["status": "ok"])
        }
        router.get("/v1/models") { _, _ in
            self.json(self.modelList())
        }
        router.get("/metrics") { _, _ in
            let text = self.metrics.render(await self.scheduler.statistics())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/v1/completions") { request, _ in
            await self.respond(to: request, endpoint: "completions") { try await self.completions($0, arrival: $1) }
        }
        router.post("/v1/chat/completions") { request, _ in
            await self.respond(to: request, endpoint: "chat_completions") { try await self.chatCompletions($0, arrival: $1) }
        }
        return router
    }

    /// The application listening on `host:port`.
    public func makeApplication(host: String = "127.0.0.1", port: Int = 8080) -> some ApplicationProtocol {
        Application(router: makeRouter(), configuration: .init(address: .hostname(host, port: port), serverName: "tailor"),
                    logger: logger)
    }

    /// Serves on `host:port` until SIGINT or SIGTERM, running the scheduler alongside.
    public func run(host: String = "127.0.0.1", port: Int = 8080) async throws {
        let app = makeApplication(host: host, port: port)
        let scheduler = self.scheduler
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await scheduler.run() }
            group.addTask { try await app.runService() }
            try await group.next()
            group.cancelAll()
        }
    }

    // MARK: - Shared handling

    /// Reads the body, runs `handle`, turns any error into OpenAI's error object, and counts and logs
    /// the outcome.
    func respond(to request: Request, endpoint: String,
                 _ handle: (Data, ContinuousClock.Instant) async throws -> Response) async -> Response {
        let arrival = ContinuousClock.now
        var request = request
        let response: Response
        do {
            let buffer = try await request.collectBody(upTo: maxBodyBytes)
            response = try await handle(Data(buffer.readableBytesView), arrival)
        } catch {
            response = errorResponse(error)
        }
        metrics.countRequest(endpoint: endpoint, status: response.status.code)
        logger.info("request", metadata: ["endpoint": "\(endpoint)", "status": "\(response.status.code)",
                                          "ms": "\((ContinuousClock.now - arrival) / .milliseconds(1))"])
        return response
    }

    /// The error object for `error`, with its status.
    func errorResponse(_ error: any Error) -> Response {
        let openAI: OpenAIError
        if let http = error as? HTTPError {
            openAI = OpenAIError(status: http.status, message: http.body ?? "request failed (\(http.status.code))",
                                 type: "invalid_request_error", param: nil, code: nil)
        } else {
            openAI = OpenAIError.from(error)
        }
        if openAI.status == .internalServerError { logger.error("request failed", metadata: ["error": "\(error)"]) }
        return json(openAI.body, status: openAI.status)
    }

    /// `value` as a JSON response.
    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? Self.encoder.encode(value)) ?? Data(#"{"error":{"message":"encoding failed","type":"server_error","param":null,"code":null}}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    /// Decodes a request body, mapping decoding failures to 400s.
    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as DecodingError {
            throw OpenAIError.malformedBody(DecodingErrorText.describe(e))
        }
    }

    /// The adapter `model` selects: nil for the base model (or no `model`), else a loaded adapter.
    func adapter(forModel model: String?) throws -> String? {
        guard let model, !model.isEmpty, model != modelName else { return nil }
        guard scheduler.adapterNames.contains(model) else { throw OpenAIError.unknownModel(model) }
        return model
    }

    func modelList() -> ModelList {
        var entries = [ModelList.Entry(id: modelName, created: created, ownedBy: "tailor")]
        for name in scheduler.adapterNames {
            entries.append(ModelList.Entry(id: name, created: created, ownedBy: "tailor", parent: modelName))
        }
        return ModelList(data: entries)
    }
}
