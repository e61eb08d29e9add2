import Foundation
import Model
import Tensor

/// Which adapter a generation request uses.
public enum AdapterChoice: Sendable, Equatable {
    /// Whatever is active on the model.
    case current
    /// The bare base model.
    case none
    /// A loaded adapter by name.
    case named(String)
}

/// Generates text with a loaded model: greedy or sampled, with stop strings, streaming, batches of
/// prompts, and a per-request choice among the model's loaded adapters.
///
/// A generator drives one model; requests run one at a time (the model's weights are shared, its
/// caches are per request).
public final class Generator {
    /// The model.
    public let model: any CausalLanguageModel
    /// Its tokenizer.
    public let tokenizer: any Tokenizer

    /// A generator for `model` and `tokenizer`.
    public init(model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// A generator for token-id prompts only: results carry ids and empty text; rows end at
    /// `maxNewTokens`, the context limit or a `stopTokenIDs` entry. Text prompts and stop strings
    /// are refused with ``GenerationError/invalidConfig(field:reason:)``.
    public init(model: any CausalLanguageModel) {
        self.model = model
        self.tokenizer = IDOnlyTokenizer(vocabularySize: model.description.vocabularySize)
    }

    /// Whether this generator has a real tokenizer (text prompts, stop strings, EOS).
    private var hasTokenizer: Bool { !(tokenizer is IDOnlyTokenizer) }

    /// Throws when a text feature is asked of a generator without a tokenizer.
    private func requireTokenizer(_ field: String) throws {
        guard hasTokenizer else { throw GenerationError.invalidConfig(field: field, reason: "needs a generator made with a tokenizer") }
    }

    /// Completes `prompt` (encoded with the tokenizer's BOS convention when `addSpecialTokens`).
    ///
    /// - Parameter onEvent: called for every generated token; return false to stop (the result then
    ///   ends with `.cancelled`).
    public func generate(prompt: String, config: GenerationConfig = .greedy, addSpecialTokens: Bool = true,
                         adapter: AdapterChoice = .current, onEvent: ((GenerationEvent) -> Bool)? = nil) throws -> GenerationResult {
        try requireTokenizer("prompt")
        return try generate(promptTokens: tokenizer.encode(prompt, addSpecialTokens: addSpecialTokens), config: config,
                     adapter: adapter, onEvent: onEvent)
    }

    /// Completes a tokenized prompt.
    public func generate(promptTokens: [Int], config: GenerationConfig = .greedy, adapter: AdapterChoice = .current,
                         onEvent: ((GenerationEvent) -> Bool)? = nil) throws -> GenerationResult {
        try generateBatch(promptTokens: [promptTokens], config: config, adapter: adapter) { _, event in
            onEvent?(event) ?? true
        }[0]
    }

    /// Streams the completion of `prompt` as events on a background task.
    public func stream(prompt: String, config: GenerationConfig = .greedy, addSpecialTokens: Bool = true,
                       adapter: AdapterChoice = .current) -> GenerationStream {
        let request = UncheckedGenerator(self)
        return GenerationStream { sink in
            try request.generator.generate(prompt: prompt, config: config, addSpecialTokens: addSpecialTokens, adapter: adapter) { event in
                sink.yield(event)
                return !sink.isCancelled
            }
        }
    }

    /// Completes several prompts together (left-padded into one batch, each row stopping on its own).
    /// Each row's output equals generating that prompt alone with the same config and seed.
    public func generateBatch(prompts: [String], config: GenerationConfig = .greedy, addSpecialTokens: Bool = true,
                              adapter: AdapterChoice = .current) throws -> [GenerationResult] {
        try requireTokenizer("prompts")
        return try generateBatch(promptTokens: prompts.map { tokenizer.encode($0, addSpecialTokens: addSpecialTokens) },
                          config: config, adapter: adapter)
    }

    /// Completes several tokenized prompts together.
    ///
    /// - Parameter onEvent: called with the row index for each token; return false to cancel that row.
    public func generateBatch(promptTokens: [[Int]], config: GenerationConfig = .greedy, adapter: AdapterChoice = .current,
                              onEvent: ((Int, GenerationEvent) -> Bool)? = nil) throws -> [GenerationResult] {
        guard !promptTokens.isEmpty else { return [] }
        if !config.stopStrings.isEmpty { try requireTokenizer("stopStrings") }
        guard promptTokens.allSatisfy({ !$0.isEmpty }) else { throw GenerationError.invalidPrompt("empty prompt") }
        let vocabulary = model.description.vocabularySize
        for prompt in promptTokens {
            if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw GenerationError.invalidPrompt("token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
            }
        }
        return try withAdapter(adapter) {
            try GradientMode.withoutGradients { try run(promptTokens, config: config, onEvent: onEvent) }
        }
    }

    /// Runs `body` with `choice` as the task's adapter routing — the model's shared active adapter
    /// is never changed, so concurrent requests cannot see each other's choice.
    private func withAdapter<R>(_ choice: AdapterChoice, _ body: () throws -> R) throws -> R {
        switch choice {
        case .current:
            return try body()
        case .none:
            return try AdapterRouting.$selection.withValue(.base, operation: body)
        case .named(let name):
            let names = model.adapterNames()
            guard names.contains(name) else {
                throw GenerationError.unknownAdapter(name, available: names)
            }
            // One name: every row of this request uses that adapter.
            return try AdapterRouting.$selection.withValue(.perRow([name]), operation: body)
        }
    }

    private func run(_ prompts: [[Int]], config: GenerationConfig, onEvent: ((Int, GenerationEvent) -> Bool)?) throws -> [GenerationResult] {
        let b = prompts.count
        let longest = prompts.map(\.count).max()!
        let limit = model.description.maxPositions
        guard longest < limit else { throw GenerationError.invalidPrompt("\(longest) tokens exceed the model's \(limit) positions") }
        let budget = min(config.maxNewTokens, limit - longest)
        var samplers = try prompts.map { try Sampler(config: config, prompt: $0) }
        var limited = config
        limited.maxNewTokens = budget  // the context window may end generation before maxNewTokens
        var streamers = prompts.map { TextStreamer(config: limited, tokenizer: tokenizer, promptTokenCount: $0.count) }
        let pad = 0  // padding is masked out (keyStart) and finished rows' outputs are ignored
        // Left padding: row r's real tokens start at keyStart[r]; positions count from there.
        let keyStart = prompts.map { longest - $0.count }
        var tokens: [Int] = [], positions: [Int] = []
        for (r, p) in prompts.enumerated() {
            tokens += [Int](repeating: pad, count: keyStart[r]) + p
            positions += (0..<longest).map { max(0, $0 - keyStart[r]) }
        }
        let padded = keyStart.contains { $0 > 0 }
        let cache = model.makeCache(batchSize: b, capacity: longest + budget + 1)
        var logits = try model.forward(ModelInput(tokens: tokens, batchSize: b, positions: positions,
                                                  keyStart: padded ? keyStart : nil, logits: .last), cache: cache)
        var generated = 0
        while true {
            let v = logits.shape[1]
            var next = [Int](repeating: pad, count: b)
            var rows = logits.scalars
            for r in 0..<b where !streamers[r].isFinished {
                let id = try rows.withUnsafeMutableBufferPointer {
                    try samplers[r].sampleToken(overwriting: UnsafeMutableBufferPointer(rebasing: $0[(r * v)..<((r + 1) * v)]))
                }
                next[r] = id
                let step = streamers[r].append(token: id)
                if let onEvent, !onEvent(r, .token(id: id, text: step.text)) { streamers[r].cancel() }
            }
            generated += 1
            if streamers.allSatisfy(\.isFinished) { break }
            let stepPositions = (0..<b).map { prompts[$0].count + generated - 1 }
            logits = try model.forward(ModelInput(tokens: next, batchSize: b, positions: stepPositions,
                                                  keyStart: padded ? keyStart : nil, logits: .last), cache: cache)
        }
        return streamers.map { $0.result! }
    }
}

/// Hands a generator to the streaming task; the stream is its only user while it runs.
private struct UncheckedGenerator: @unchecked Sendable {
    let generator: Generator
    init(_ generator: Generator) { self.generator = generator }
}
