import Foundation
import Hummingbird
import Tailor

/// Which of the two completion endpoints a response is for.
enum CompletionKind: Sendable {
    case text, chat

    var idPrefix: String { self == .text ? "cmpl-" : "chatcmpl-" }
    var object: String { self == .text ? "text_completion" : "chat.completion" }
    var chunkObject: String { self == .text ? "text_completion" : "chat.completion.chunk" }
}

/// The requests submitted for one HTTP request: one scheduler stream per prompt, each with `n` choices.
struct SubmittedCompletion: Sendable {
    var kind: CompletionKind
    var id: String
    var model: String
    var created: Int
    var choicesPerPrompt: Int
    var promptTokens: [Int]
    var streams: [AsyncThrowingStream<BatchEvent, any Error>]
    var includeUsage: Bool
    var arrival: ContinuousClock.Instant
    /// Alternatives per token's log-probabilities; nil when the request asked for none.
    var logprobs: Int?
    /// Where token strings of `logprobs` come from.
    var tokenizer: any Tokenizer

    /// The response index of choice `choice` of prompt `prompt`.
    func index(prompt: Int, choice: Int) -> Int { prompt * choicesPerPrompt + choice }

    /// An empty log-probability collection for one choice, or nil when none were asked for.
    func choiceLogprobs() -> ChoiceLogprobs? {
        logprobs == nil ? nil : ChoiceLogprobs(kind: kind, tokenizer: tokenizer)
    }
}

extension OpenAIServer {
    func completions(_ data: Data, arrival: ContinuousClock.Instant) async throws -> Response {
        let request = try decode(CompletionRequest.self, from: data)
        if request.echo == true { throw OpenAIError.invalidValue("echo is not supported", param: "echo") }
        let adapter = try adapter(forModel: request.sampling.model)
        let config = try request.sampling.generationConfig(defaultMaxTokens: 16)
        guard !request.prompt.values.isEmpty else { throw OpenAIError.invalidValue("prompt is empty", param: "prompt") }
        let prompts = request.prompt.values.map { scheduler.tokenizer.encode($0, addSpecialTokens: true) }
        let submitted = try await submit(kind: .text, prompts: prompts, config: config, adapter: adapter,
                                         sampling: request.sampling, arrival: arrival)
        return request.sampling.stream == true ? streamResponse(submitted) : try await wholeResponse(submitted)
    }

    func chatCompletions(_ data: Data, arrival: ContinuousClock.Instant) async throws -> Response {
        let request = try decode(ChatCompletionRequest.self, from: data)
        let adapter = try adapter(forModel: request.sampling.model)
        guard !request.messages.isEmpty else { throw OpenAIError.invalidValue("messages is empty", param: "messages") }
        let messages = try request.messages.map { message -> ChatMessage in
            let role = message.role == "developer" ? "system" : message.role
            guard let chatRole = ChatRole(rawValue: role) else {
                throw OpenAIError.invalidValue("unsupported message role '\(message.role)'", param: "messages")
            }
            return ChatMessage(role: chatRole, content: message.content)
        }
        // Without max_tokens a chat answer may fill the rest of the context (OpenAI's default).
        let config = try request.sampling.generationConfig(defaultMaxTokens: scheduler.modelDescription.maxPositions)
        let prompt = try ChatPrompt(messages: messages, tokenizer: scheduler.tokenizer, template: chatTemplate, config: config)
        let submitted = try await submit(kind: .chat, prompts: [prompt.tokens], config: prompt.config, adapter: adapter,
                                         sampling: request.sampling, arrival: arrival)
        return request.sampling.stream == true ? streamResponse(submitted) : try await wholeResponse(submitted)
    }

    /// Queues every prompt; if one is refused the ones already queued are dropped (and so cancelled).
    func submit(kind: CompletionKind, prompts: [[Int]], config: GenerationConfig, adapter: String?,
                sampling: OpenAISampling, arrival: ContinuousClock.Instant) async throws -> SubmittedCompletion {
        let logprobs = try sampling.logprobsCount(for: kind)
        var streams: [AsyncThrowingStream<BatchEvent, any Error>] = []
        for tokens in prompts {
            streams.append(try await scheduler.submit(BatchRequest(promptTokens: tokens, config: config, adapter: adapter,
                                                                   choices: sampling.choices, logprobs: logprobs)))
        }
        metrics.promptTokens.increment(by: Int64(prompts.reduce(0) { $0 + $1.count }))
        return SubmittedCompletion(kind: kind, id: kind.idPrefix + Self.randomID(), model: sampling.model ?? modelName,
                                   created: Int(Date().timeIntervalSince1970), choicesPerPrompt: sampling.choices,
                                   promptTokens: prompts.map(\.count), streams: streams,
                                   includeUsage: sampling.streamOptions?.includeUsage == true, arrival: arrival,
                                   logprobs: logprobs, tokenizer: scheduler.tokenizer)
    }

    static func randomID() -> String {
        String(UInt64.random(in: 0 ... .max), radix: 16) + String(UInt32.random(in: 0 ... .max), radix: 16)
    }

    // MARK: - Whole responses

    func wholeResponse(_ submitted: SubmittedCompletion) async throws -> Response {
        var results: [Int: GenerationResult] = [:]
        var logprobs: [Int: ChoiceLogprobs] = [:]
        var timing = TokenTiming(arrival: submitted.arrival, metrics: metrics)
        for (p, stream) in submitted.streams.enumerated() {
            for try await event in stream {
                switch event {
                case .token(let choice, let id, _, let tokenLogprobs):
                    let index = submitted.index(prompt: p, choice: choice)
                    timing.token(choice: index)
                    if let tokenLogprobs, var collected = logprobs[index] ?? submitted.choiceLogprobs() {
                        collected.append(id, tokenLogprobs)
                        logprobs[index] = collected
                    }
                case .finished(let choice, let result): results[submitted.index(prompt: p, choice: choice)] = result
                }
            }
        }
        /// A choice's whole log-probability object (nil when not asked for).
        func taken<T>(_ index: Int, _ take: (inout ChoiceLogprobs) -> T) -> T? {
            guard var collected = logprobs[index] ?? submitted.choiceLogprobs() else { return nil }
            return take(&collected)
        }
        timing.finish()
        let ordered = results.sorted { $0.key < $1.key }
        let usage = Usage(promptTokens: submitted.promptTokens.reduce(0, +),
                          completionTokens: ordered.reduce(0) { $0 + $1.value.tokenIDs.count })
        switch submitted.kind {
        case .text:
            let choices = ordered.map {
                CompletionChoice(text: $0.value.text, index: $0.key, logprobs: taken($0.key) { $0.takeCompletion() },
                                 finishReason: $0.value.finishReason.openAIName)
            }
            return json(CompletionBody(id: submitted.id, object: submitted.kind.object, created: submitted.created,
                                       model: submitted.model, choices: choices, usage: usage))
        case .chat:
            let choices = ordered.map {
                ChatChoice(index: $0.key, message: ChatDelta(role: "assistant", content: $0.value.text),
                           logprobs: taken($0.key) { $0.takeChat() }, finishReason: $0.value.finishReason.openAIName)
            }
            return json(CompletionBody(id: submitted.id, object: submitted.kind.object, created: submitted.created,
                                       model: submitted.model, choices: choices, usage: usage))
        }
    }

    // MARK: - Streaming

    /// Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`. A failure after the
    /// stream started is sent as an error event; a client that goes away cancels its sequences.
    func streamResponse(_ submitted: SubmittedCompletion) -> Response {
        let metrics = self.metrics, logger = self.logger
        let body = ResponseBody { writer in
            var chunks = ChunkEncoder(submitted: submitted)
            var timing = TokenTiming(arrival: submitted.arrival, metrics: metrics)
            var completionTokens = 0
            do {
                for (p, stream) in submitted.streams.enumerated() {
                    for try await event in stream {
                        let data: Data?
                        switch event {
                        case .token(let choice, let id, let text, let logprobs):
                            let index = submitted.index(prompt: p, choice: choice)
                            timing.token(choice: index)
                            completionTokens += 1
                            if let logprobs { chunks.add(id, logprobs, index: index) }
                            data = try chunks.text(text, index: index)
                        case .finished(let choice, let result):
                            data = try chunks.finish(result.finishReason.openAIName, index: submitted.index(prompt: p, choice: choice))
                        }
                        if let data { try await writer.write(Self.event(data)) }
                    }
                }
                timing.finish()
                if submitted.includeUsage {
                    let usage = Usage(promptTokens: submitted.promptTokens.reduce(0, +), completionTokens: completionTokens)
                    try await writer.write(Self.event(try chunks.usage(usage)))
                }
            } catch let error where !(error is CancellationError) {
                logger.warning("stream ended early", metadata: ["error": "\(error)"])
                let failure = OpenAIError.from(error)
                if let data = try? OpenAIServer.encoder.encode(failure.body) { try await writer.write(Self.event(data)) }
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func event(_ json: Data) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }
}

/// Builds the JSON of stream chunks; a chat choice's first chunk carries the assistant role.
///
/// With log-probabilities, each chunk carries those of the tokens whose text it brings: a token whose
/// text is held back (part of a character, a possible stop string) or empty (end of sequence) has its
/// log-probabilities sent with the next chunk of its choice, at the latest the closing one. So the
/// chunks' log-probabilities, concatenated, equal the whole response's.
struct ChunkEncoder {
    let submitted: SubmittedCompletion
    private var started: Set<Int> = []
    private var pending: [Int: ChoiceLogprobs] = [:]

    init(submitted: SubmittedCompletion) { self.submitted = submitted }

    /// Records the log-probabilities of token `id` of choice `index`, for its next chunk.
    mutating func add(_ id: Int, _ logprobs: TokenLogprobs, index: Int) {
        guard var collected = pending[index] ?? submitted.choiceLogprobs() else { return }
        collected.append(id, logprobs)
        pending[index] = collected
    }

    /// The chunk for new text of choice `index` (nil when there is nothing to send).
    mutating func text(_ text: String, index: Int) throws -> Data? {
        switch submitted.kind {
        case .text:
            guard !text.isEmpty else { return nil }
            return try encode([CompletionChoice(text: text, index: index, logprobs: takeCompletion(index), finishReason: nil)])
        case .chat:
            let first = started.insert(index).inserted
            guard first || !text.isEmpty else { return nil }
            return try encode([ChatChoice(index: index, delta: ChatDelta(role: first ? "assistant" : nil, content: text),
                                          logprobs: takeChat(index))])
        }
    }

    /// The closing chunk of choice `index`.
    mutating func finish(_ reason: String?, index: Int) throws -> Data {
        switch submitted.kind {
        case .text:
            return try encode([CompletionChoice(text: "", index: index, logprobs: takeCompletion(index), finishReason: reason)])
        case .chat:
            let first = started.insert(index).inserted
            return try encode([ChatChoice(index: index, delta: ChatDelta(role: first ? "assistant" : nil, content: nil),
                                          logprobs: takeChat(index), finishReason: reason)])
        }
    }

    /// The legacy object of choice `index`'s pending tokens (nil without log-probabilities).
    private mutating func takeCompletion(_ index: Int) -> CompletionLogprobs? {
        guard var collected = pending[index] ?? submitted.choiceLogprobs() else { return nil }
        defer { pending[index] = collected }
        return collected.takeCompletion()
    }

    /// The chat object of choice `index`'s pending tokens (nil without log-probabilities).
    private mutating func takeChat(_ index: Int) -> ChatLogprobs? {
        guard var collected = pending[index] ?? submitted.choiceLogprobs() else { return nil }
        defer { pending[index] = collected }
        return collected.takeChat()
    }

    /// The final usage chunk (no choices).
    func usage(_ usage: Usage) throws -> Data {
        try OpenAIServer.encoder.encode(CompletionBody<CompletionChoice>(
            id: submitted.id, object: submitted.kind.chunkObject, created: submitted.created, model: submitted.model,
            choices: [], usage: usage))
    }

    private func encode<C: Encodable>(_ choices: [C]) throws -> Data {
        try OpenAIServer.encoder.encode(CompletionBody(id: submitted.id, object: submitted.kind.chunkObject,
                                                       created: submitted.created, model: submitted.model,
                                                       choices: choices, usage: nil))
    }
}

/// Records time to first token, inter-token latency and generated tokens of one request.
struct TokenTiming {
    let arrival: ContinuousClock.Instant
    let metrics: ServerMetrics
    private var last: [Int: ContinuousClock.Instant] = [:]

    init(arrival: ContinuousClock.Instant, metrics: ServerMetrics) {
        self.arrival = arrival
        self.metrics = metrics
    }

    mutating func token(choice: Int) {
        let now = ContinuousClock.now
        if last.isEmpty { metrics.timeToFirstToken.record(now - arrival) }
        if let previous = last[choice] { metrics.interTokenLatency.record(now - previous) }
        last[choice] = now
        metrics.generatedTokens.increment()
    }

    func finish() {
        metrics.requestDuration.record(ContinuousClock.now - arrival)
    }
}
