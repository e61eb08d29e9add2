/// One request to a ``BatchScheduler``: a tokenized prompt, its settings, the adapter it uses and
/// how many completions (choices) to generate from it.
public struct BatchRequest: Sendable, Equatable {
    /// Prompt token ids (non-empty, shorter than the model's context).
    public var promptTokens: [Int]
    /// Length, sampling and stop settings. Choice i > 0 uses `seed + i` when a seed is set, so the
    /// choices differ but stay reproducible.
    public var config: GenerationConfig
    /// The loaded adapter every forward pass of this request applies; nil for the base model.
    public var adapter: String?
    /// Number of completions of the prompt (OpenAI's `n`), each its own batch row.
    public var choices: Int
    /// Log-probabilities to report: nil (default) for none; k ≥ 0 for every `.token` event to carry
    /// the token's log-probability and the k most probable tokens at its position (``TokenLogprobs``,
    /// the log-softmax of the raw logits). Computed only for the rows of requests that ask.
    public var logprobs: Int?

    /// A request for `choices` completions of `promptTokens`, with `logprobs` alternatives per token
    /// when it is set.
    public init(promptTokens: [Int], config: GenerationConfig = .greedy, adapter: String? = nil, choices: Int = 1,
                logprobs: Int? = nil) {
        self.promptTokens = promptTokens
        self.config = config
        self.adapter = adapter
        self.choices = choices
        self.logprobs = logprobs
    }

    /// The settings choice `index` samples with.
    func config(forChoice index: Int) -> GenerationConfig {
        var c = config
        if let seed = c.seed { c.seed = seed &+ UInt64(index) }
        return c
    }
}

/// What a running request reports, in order per choice: its tokens, then its result.
public enum BatchEvent: Sendable, Equatable {
    /// Choice `choice` generated a token; `text` is the newly safe-to-show text (possibly empty);
    /// `logprobs` is set when the request asked for ``BatchRequest/logprobs``.
    case token(choice: Int, id: Int, text: String, logprobs: TokenLogprobs?)
    /// Choice `choice` ended. The stream finishes after the last choice's result.
    case finished(choice: Int, GenerationResult)
}

/// Why a ``BatchScheduler`` refused or failed a request.
public enum BatchSchedulerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The waiting queue is full; retry later.
    case queueFull(limit: Int)
    /// The prompt does not leave room for one generated token in the context.
    case promptTooLong(tokens: Int, limit: Int)
    /// The prompt is empty.
    case emptyPrompt
    /// No adapter of that name is loaded.
    case unknownAdapter(String)
    /// `choices` is outside 1...maxBatchSize.
    case invalidChoices(Int, limit: Int)
    /// `logprobs` is negative.
    case invalidLogprobs(Int)
    /// The scheduler is shutting down.
    case shutDown

    public var description: String {
        switch self {
        case .queueFull(let limit): "the server is busy: \(limit) requests are already waiting"
        case .promptTooLong(let tokens, let limit): "the prompt has \(tokens) tokens; the model's context holds \(limit), leaving no room to generate"
        case .emptyPrompt: "the prompt is empty"
        case .unknownAdapter(let name): "no adapter named '\(name)' is loaded"
        case .invalidChoices(let n, let limit): "n must be between 1 and \(limit), got \(n)"
        case .invalidLogprobs(let k): "logprobs must be ≥ 0, got \(k)"
        case .shutDown: "the scheduler is shutting down"
        }
    }
}

/// A snapshot of a scheduler's load.
public struct BatchStatistics: Sendable, Equatable {
    /// Requests waiting to be prefilled.
    public var queuedRequests: Int
    /// Sequences (batch rows) in the running batch.
    public var runningSequences: Int
    /// Bytes held by the running batch's key/value cache.
    public var kvCacheBytes: Int
    /// Decode steps run so far (each one batched forward pass).
    public var decodeSteps: Int
    /// Largest batch a decode step has run so far.
    public var largestBatch: Int
    /// Prefill forward passes run so far (requests admitted together share one).
    public var prefillPasses: Int = 0
}
