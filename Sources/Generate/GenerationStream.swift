/// A stream of `GenerationEvent`s that a generation loop produces on its own task.
///
/// The loop is the `body` closure: it runs on a detached task (model work must not block the caller's
/// actor), reports each token through the `GenerationSink`, and returns the `GenerationResult`, which the
/// stream delivers as the final `.finished` event. An error thrown by `body` ends the stream with that
/// error. Cancelling the consuming task, calling `cancel()`, or dropping the stream cancels the body's
/// task and sets `sink.isCancelled`; the body should check it each step and return a result with
/// `.cancelled` (`TextStreamer.cancel()`).
///
/// ```swift
/// let stream = GenerationStream { sink in
///     var sampler = try Sampler(config: config, prompt: prompt)
///     var streamer = TextStreamer(config: config, tokenizer: tokenizer, promptTokenCount: prompt.count)
///     while !streamer.isFinished {
///         if sink.isCancelled { streamer.cancel(); break }
///         let id = try sampler.sampleToken(from: model.nextLogits())   // the lead's model step
///         sink.yield(.token(id: id, text: streamer.append(token: id).text))
///     }
///     return streamer.result!
/// }
/// for try await piece in stream.textDeltas { print(piece, terminator: "") }
/// ```
public struct GenerationStream: AsyncSequence, Sendable {
    /// Elements are generation events; the last one is `.finished`.
    public typealias Element = GenerationEvent
    /// The iterator of the underlying `AsyncThrowingStream`.
    public typealias AsyncIterator = AsyncThrowingStream<GenerationEvent, any Error>.Iterator

    private let events: AsyncThrowingStream<GenerationEvent, any Error>
    private let task: Task<Void, Never>
    private let cancellation: CancellationFlag

    /// Starts `body` on a detached task with `priority`; its events and result feed this stream.
    public init(
        priority: TaskPriority? = nil,
        _ body: sending @escaping (GenerationSink) async throws -> GenerationResult
    ) {
        let (events, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        let cancellation = CancellationFlag()
        let task = Task.detached(priority: priority) {
            do {
                let result = try await body(GenerationSink(continuation: continuation, cancellation: cancellation))
                continuation.yield(.finished(result))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in
            cancellation.set()
            task.cancel()
        }
        self.events = events
        self.task = task
        self.cancellation = cancellation
    }

    /// Creates the iterator over the events.
    public func makeAsyncIterator() -> AsyncIterator {
        events.makeAsyncIterator()
    }

    /// Asks the generation to stop; it ends with `.cancelled` at its next check.
    public func cancel() {
        cancellation.set()
        task.cancel()
    }

    /// Only the text pieces, skipping empty ones.
    public var textDeltas: AsyncThrowingCompactMapSequence<GenerationStream, String> {
        compactMap { event in
            if case let .token(_, text) = event, !text.isEmpty { return text }
            return nil
        }
    }

    /// Consumes the stream and returns the final result. Throws the body's error, or
    /// `CancellationError` if the stream ended without a result.
    public func result() async throws -> GenerationResult {
        for try await event in self {
            if case let .finished(result) = event { return result }
        }
        throw CancellationError()
    }
}

/// The producer's side of a `GenerationStream`: where a generation loop reports events.
public struct GenerationSink: Sendable {
    let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    let cancellation: CancellationFlag

    /// Sends an event to the consumer (use `.token`; the stream sends `.finished` itself).
    public func yield(_ event: GenerationEvent) {
        continuation.yield(event)
    }

    /// Whether the consumer has cancelled or gone away; check it once per step. Valid from any thread, so
    /// the loop may also run outside the body's task (e.g. on a dedicated thread the body waits for).
    public var isCancelled: Bool { cancellation.isSet || Task.isCancelled }
}
