import Logging
import Model
import Tensor

/// Continuous batching: owns a model and runs many generation requests at once, advancing every
/// running sequence together in one batched forward pass per decode step.
///
/// Between steps, waiting requests are prefilled (those admitted together in left-padded groups of
/// similar lengths, one forward pass per group, whose cache rows then join the batch) and
/// finished, cancelled or failed sequences leave; the batch's key/value cache is rebuilt from the rows that stay whenever the batch changes
/// (``KVCache/init(gathering:extraCapacity:)``), right-aligned with a key start per row, so a
/// sequence's attention sees exactly its own positions. Each row keeps its own ``Sampler`` and
/// ``TextStreamer``, so a row's tokens equal generating its prompt alone with ``Generator``
/// (greedy, or sampled with the same seed). Each forward pass names every row's adapter through
/// ``AdapterRouting`` (`.perRow`); the model's shared adapter setting is never changed.
///
/// Rows whose request set ``BatchRequest/logprobs`` also get each token's ``TokenLogprobs``, taken
/// from the raw logits row before the sampler penalises it; the other rows of the same batch pay
/// nothing for it.
///
/// The model lives inside the actor: pass it in with `sending` and keep no other reference.
/// Call ``run()`` once (e.g. in a task) to process requests; cancelling that task stops it and
/// fails what is still queued or running with ``BatchSchedulerError/shutDown``.
///
/// ```swift
/// let scheduler = BatchScheduler(model: model, tokenizer: tokenizer)
/// let loop = Task { await scheduler.run() }
/// for try await event in try await scheduler.submit(BatchRequest(promptTokens: ids)) { … }
/// loop.cancel()
/// ```
public actor BatchScheduler {
    /// Limits of a scheduler.
    public struct Options: Sendable, Equatable {
        /// Most sequences decoded together (default 8).
        public var maxBatchSize: Int
        /// Most requests waiting for a place in the batch; past it `submit` throws `queueFull` (default 32).
        public var maxQueuedRequests: Int

        /// Options with the documented defaults.
        public init(maxBatchSize: Int = 8, maxQueuedRequests: Int = 32) {
            self.maxBatchSize = max(1, maxBatchSize)
            self.maxQueuedRequests = max(0, maxQueuedRequests)
        }
    }

    /// The model's tokenizer.
    public nonisolated let tokenizer: any Tokenizer
    /// The model's sizes (context length in `maxPositions`).
    public nonisolated let modelDescription: ModelDescription
    /// Names of the adapters loaded on the model when the scheduler was made.
    public nonisolated let adapterNames: [String]
    /// The limits.
    public nonisolated let options: Options
    /// Where the scheduler reports admissions, finished sequences and failures (silent by default).
    public nonisolated let logger: Logger

    private let model: any CausalLanguageModel
    private var waiting: [(id: Int, request: BatchRequest)] = []
    private var requests: [Int: RequestProgress] = [:]
    private var rows: [BatchRow] = []
    private var batchCache: KVCache?
    private var nextID = 0
    private var wake: CheckedContinuation<Void, Never>?
    private var stopped = false
    private var decodeSteps = 0
    private var largestBatch = 0
    private var prefillPasses = 0

    /// Where a request's events go and how many of its choices are still running.
    private struct RequestProgress {
        let continuation: AsyncThrowingStream<BatchEvent, any Error>.Continuation
        var unfinishedChoices: Int
    }

    /// A scheduler owning `model` (with its adapters already loaded) and its `tokenizer`, logging to
    /// `logger` (by default nowhere).
    public init(model: sending any CausalLanguageModel, tokenizer: any Tokenizer, options: Options = Options(),
                logger: Logger = Logger(label: "tailor.batch", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.logger = logger
        self.adapterNames = model.adapterNames()
        self.modelDescription = model.description
        self.model = model
        self.tokenizer = tokenizer
        self.options = options
    }

    /// Queues `request` and returns its events: per choice, `.token`s then `.finished`. Stopping the
    /// iteration (or cancelling the consuming task) cancels the request and frees its rows before
    /// the next step. Throws ``BatchSchedulerError`` for a request that cannot run, including
    /// `queueFull` when `maxQueuedRequests` are already waiting, and `GenerationError.invalidConfig`
    /// for bad settings.
    public func submit(_ request: BatchRequest) throws -> AsyncThrowingStream<BatchEvent, any Error> {
        try validate(request)
        guard !stopped else { throw BatchSchedulerError.shutDown }
        guard waiting.count < options.maxQueuedRequests else {
            throw BatchSchedulerError.queueFull(limit: options.maxQueuedRequests)
        }
        let id = nextID
        nextID += 1
        let (stream, continuation) = AsyncThrowingStream<BatchEvent, any Error>.makeStream()
        continuation.onTermination = { [weak self] termination in
            guard case .cancelled = termination else { return }
            Task { await self?.cancel(id) }
        }
        requests[id] = RequestProgress(continuation: continuation, unfinishedChoices: request.choices)
        waiting.append((id, request))
        wakeUp()
        return stream
    }

    /// The current load.
    public func statistics() -> BatchStatistics {
        BatchStatistics(queuedRequests: waiting.count, runningSequences: rows.count,
                        kvCacheBytes: batchCache?.byteCount ?? 0, decodeSteps: decodeSteps, largestBatch: largestBatch,
                        prefillPasses: prefillPasses)
    }

    /// Processes requests until the calling task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            if rows.isEmpty && waiting.isEmpty {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { wake = $0 }
                } onCancel: {
                    Task { await self.wakeUp() }
                }
                continue
            }
            admitWaiting()
            if !rows.isEmpty { decodeStep() }
            await Task.yield()  // let submissions and cancellations in between steps
        }
        stopped = true
        abandonBatch(BatchSchedulerError.shutDown)
        for id in Array(requests.keys) { fail(id, BatchSchedulerError.shutDown) }
    }

    // MARK: - Requests

    private func validate(_ request: BatchRequest) throws {
        try request.config.validate()
        guard !request.promptTokens.isEmpty else { throw BatchSchedulerError.emptyPrompt }
        let limit = modelDescription.maxPositions
        guard request.promptTokens.count < limit else {
            throw BatchSchedulerError.promptTooLong(tokens: request.promptTokens.count, limit: limit)
        }
        if let bad = request.promptTokens.first(where: { $0 < 0 || $0 >= modelDescription.vocabularySize }) {
            throw GenerationError.invalidPrompt("token id \(bad) is outside the vocabulary")
        }
        if let name = request.adapter, !adapterNames.contains(name) { throw BatchSchedulerError.unknownAdapter(name) }
        guard (1...options.maxBatchSize).contains(request.choices) else {
            throw BatchSchedulerError.invalidChoices(request.choices, limit: options.maxBatchSize)
        }
        if let k = request.logprobs, k < 0 { throw BatchSchedulerError.invalidLogprobs(k) }
    }

    private func wakeUp() {
        wake?.resume()
        wake = nil
    }

    /// Drops a request whose consumer went away, freeing its rows at once.
    private func cancel(_ id: Int) {
        guard requests.removeValue(forKey: id) != nil else { return }
        logger.debug("cancelled", metadata: ["request": "\(id)"])
        waiting.removeAll { $0.id == id }
        removeRows { $0.requestID == id }
    }

    private func emit(_ id: Int, _ event: BatchEvent) {
        guard var progress = requests[id] else { return }
        progress.continuation.yield(event)
        if case .finished(let choice, let result) = event {
            logger.debug("finished", metadata: ["request": "\(id)", "choice": "\(choice)", "reason": "\(result.finishReason)",
                                                "tokens": "\(result.tokenIDs.count)"])
            progress.unfinishedChoices -= 1
            if progress.unfinishedChoices == 0 {
                requests[id] = nil
                progress.continuation.finish()
                return
            }
        }
        requests[id] = progress
    }

    private func fail(_ id: Int, _ error: any Error) {
        guard let progress = requests.removeValue(forKey: id) else { return }
        progress.continuation.finish(throwing: error)
        waiting.removeAll { $0.id == id }
        removeRows { $0.requestID == id }
    }

    // MARK: - Steps

    /// Prefills waiting requests while their choices fit in the batch, then rebuilds the batch cache.
    /// Requests admitted together are prefilled together, in groups of similar prompt lengths
    /// (``PrefillGroups``): one left-padded forward pass per group instead of one per request.
    private func admitWaiting() {
        var admitted: [(id: Int, request: BatchRequest)] = []
        var seats = rows.count
        while let next = waiting.first, seats + next.request.choices <= options.maxBatchSize {
            waiting.removeFirst()
            admitted.append(next)
            seats += next.request.choices
        }
        guard !admitted.isEmpty else { return }
        var joining: [BatchRow] = []
        for group in PrefillGroups.split(lengths: admitted.map(\.request.promptTokens.count)) {
            joining += prefill(group.map { admitted[$0] })
        }
        guard !joining.isEmpty else { return }
        rebuildCache(rows + joining)
    }

    /// Prefills `group` in one forward pass (alone again, one by one, if that pass fails, so one
    /// request's failure is its own) and returns the choices still running.
    private func prefill(_ group: [(id: Int, request: BatchRequest)]) -> [BatchRow] {
        do {
            let joining = try prefillTogether(group)
            for (id, request) in group {
                logger.debug("admitted", metadata: ["request": "\(id)", "prompt_tokens": "\(request.promptTokens.count)",
                                                    "choices": "\(request.choices)", "adapter": "\(request.adapter ?? "-")",
                                                    "prefill_group": "\(group.count)"])
            }
            return joining
        } catch {
            guard group.count > 1 else {
                logger.error("prefill failed", metadata: ["request": "\(group[0].id)", "error": "\(error)"])
                fail(group[0].id, error)
                return []
            }
            return group.flatMap { prefill([$0]) }
        }
    }

    /// Runs the group's prompts as one left-padded batch (row r's tokens start at its key start),
    /// samples each choice's first token from its request's logits row, and returns the choices
    /// still running. A request whose sampler cannot start fails alone.
    private func prefillTogether(_ group: [(id: Int, request: BatchRequest)]) throws -> [BatchRow] {
        let prompts = group.map(\.request.promptTokens)
        let longest = prompts.map(\.count).max() ?? 0
        let keyStarts = prompts.map { longest - $0.count }
        var tokens: [Int] = [], positions: [Int] = []
        tokens.reserveCapacity(longest * prompts.count)
        positions.reserveCapacity(longest * prompts.count)
        for (r, prompt) in prompts.enumerated() {
            tokens += repeatElement(0, count: keyStarts[r])  // padding: masked out by the key start
            tokens += prompt
            positions += (0..<longest).map { max(0, $0 - keyStarts[r]) }
        }
        let padded = keyStarts.contains { $0 > 0 }
        let cache = model.makeCache(batchSize: prompts.count, capacity: longest + 1)
        prefillPasses += 1
        let logits = try forward(ModelInput(tokens: tokens, batchSize: prompts.count, positions: positions,
                                            keyStart: padded ? keyStarts : nil, logits: .last),
                                 cache: cache, adapters: group.map(\.request.adapter))
        let scores = logits.scalars
        let v = logits.shape[1]
        var running: [BatchRow] = []
        for (r, (id, request)) in group.enumerated() {
            do {
                running += try scores.withUnsafeBufferPointer { all in
                    try startChoices(id, request, logits: UnsafeBufferPointer(rebasing: all[(r * v)..<((r + 1) * v)]),
                                     cache: cache, cacheRow: r, keyStart: keyStarts[r])
                }
            } catch {
                logger.error("prefill failed", metadata: ["request": "\(id)", "error": "\(error)"])
                fail(id, error)
            }
        }
        return running
    }

    /// Samples every choice's first token of `request` from its prompt's last `logits`, and returns
    /// the choices still running (their keys in row `cacheRow` of `cache`, from `keyStart`).
    private func startChoices(_ id: Int, _ request: BatchRequest, logits: UnsafeBufferPointer<Float>,
                              cache: KVCache, cacheRow: Int, keyStart: Int) throws -> [BatchRow] {
        let prompt = request.promptTokens
        let room = modelDescription.maxPositions - prompt.count
        // Every choice samples from the same row: summarise its log-softmax once.
        let summary = request.logprobs.map { LogSoftmaxRow(logits, top: $0) }
        var running: [BatchRow] = []
        for choice in 0..<request.choices {
            let config = request.config(forChoice: choice)
            var limited = config
            limited.maxNewTokens = min(config.maxNewTokens, room)  // the context may end generation first
            var row = BatchRow(requestID: id, choice: choice, adapter: request.adapter, promptCount: prompt.count,
                               logprobs: request.logprobs, sampler: try Sampler(config: config, prompt: prompt),
                               streamer: TextStreamer(config: limited, tokenizer: tokenizer, promptTokenCount: prompt.count),
                               cache: cache, cacheRow: cacheRow, keyStart: keyStart)
            if !row.streamer.isFinished {
                let token = try row.sampler.sampleToken(from: logits)
                let step = row.streamer.append(token: token)
                emit(id, .token(choice: choice, id: token, text: step.text,
                                logprobs: summary?.logprobs(token: token, in: logits)))
            }
            if let result = row.streamer.result {
                emit(id, .finished(choice: choice, result))
            } else {
                running.append(row)
            }
        }
        return running
    }

    /// Feeds every running row its last token in one forward pass and samples the next ones.
    private func decodeStep() {
        guard let cache = batchCache else { return }
        let input = ModelInput(tokens: rows.map(\.lastToken), batchSize: rows.count,
                               positions: rows.map(\.lastPosition),
                               keyStart: rows.contains { $0.keyStart > 0 } ? rows.map(\.keyStart) : nil, logits: .last)
        decodeSteps += 1
        largestBatch = max(largestBatch, rows.count)
        let logits: Tensor
        do {
            logits = try forward(input, cache: cache, adapters: rows.map(\.adapter))
        } catch {
            logger.error("decode step failed", metadata: ["rows": "\(rows.count)", "error": "\(error)"])
            abandonBatch(error)
            return
        }
        var scores = logits.scalars
        let v = logits.shape[1]
        var failed: [(Int, any Error)] = []
        for r in rows.indices {
            let id = rows[r].requestID
            do {
                let (token, logprobs) = try scores.withUnsafeMutableBufferPointer { all -> (Int, TokenLogprobs?) in
                    let row = UnsafeMutableBufferPointer(rebasing: all[(r * v)..<((r + 1) * v)])
                    guard let k = rows[r].logprobs else { return (try rows[r].sampler.sampleToken(overwriting: row), nil) }
                    // The sampler penalises in place: let it work on a copy so the raw logits stay.
                    let raw = UnsafeBufferPointer(row)
                    let token = try rows[r].sampler.sampleToken(from: raw)
                    return (token, LogSoftmaxRow(raw, top: k).logprobs(token: token, in: raw))
                }
                let step = rows[r].streamer.append(token: token)
                emit(id, .token(choice: rows[r].choice, id: token, text: step.text, logprobs: logprobs))
                if let result = rows[r].streamer.result { emit(id, .finished(choice: rows[r].choice, result)) }
            } catch {
                failed.append((id, error))
            }
        }
        for (id, error) in failed { fail(id, error) }
        removeRows { $0.streamer.isFinished }
    }

    private func forward(_ input: ModelInput, cache: KVCache, adapters: [String?]) throws -> Tensor {
        try AdapterRouting.$selection.withValue(.perRow(adapters)) {
            try GradientMode.withoutGradients { try model.forward(input, cache: cache) }
        }
    }

    /// Removes the rows matching `predicate` and compacts the batch cache if any left.
    private func removeRows(where predicate: (BatchRow) -> Bool) {
        let kept = rows.filter { !predicate($0) }
        guard kept.count != rows.count else { return }
        rebuildCache(kept)
    }

    /// Makes `newRows` the running batch, gathering their cache rows into one new batch cache.
    private func rebuildCache(_ newRows: [BatchRow]) {
        rows = newRows
        guard !rows.isEmpty else {
            batchCache = nil
            return
        }
        do {
            let slices = rows.map(\.slice)
            let cache = try KVCache(gathering: slices)
            for r in rows.indices {
                rows[r].keyStart = cache.length - slices[r].count
                rows[r].cache = cache
                rows[r].cacheRow = r
            }
            batchCache = cache
        } catch {
            abandonBatch(error)
        }
    }

    /// Fails every request with a running row and empties the batch.
    private func abandonBatch(_ error: any Error) {
        let ids = Set(rows.map(\.requestID))
        rows = []
        batchCache = nil
        for id in ids { fail(id, error) }
    }
}
