import Tensor

/// Which positions of a forward pass produce logits.
public enum LogitsSelection: Sendable, Equatable {
    /// Every position: [B·T, V].
    case all
    /// The last position of each batch row: [B, V] (generation).
    case last
    /// Chosen flat positions (b·T + t), e.g. only those with a training target.
    case rows([Int])
}

/// One forward pass's input: B rows of T token ids.
public struct ModelInput: Sendable {
    /// Token ids, row-major [B, T] (the `Int` ids the tokenizer and generator use).
    public var tokens: [Int]
    /// B.
    public var batchSize: Int
    /// Position of each token ([B, T]); by default the cache length (or 0) plus t.
    public var positions: [Int]?
    /// Per row, the first key that is not left padding (in cache coordinates); nil if none.
    public var keyStart: [Int]?
    /// For packed rows ([B, T]): the example each token belongs to. Attention then stays within a
    /// run of equal ids (a block-diagonal causal mask); pair it with per-example `positions`.
    /// Only without a cache. Nil: one sequence per row.
    public var segments: [Int]?
    /// Which logits to compute.
    public var logits: LogitsSelection

    /// An input of `batchSize` equally long rows.
    public init(tokens: [Int], batchSize: Int = 1, positions: [Int]? = nil, keyStart: [Int]? = nil,
                segments: [Int]? = nil, logits: LogitsSelection = .all) {
        self.tokens = tokens
        self.batchSize = batchSize
        self.positions = positions
        self.keyStart = keyStart
        self.segments = segments
        self.logits = logits
    }

    /// T.
    public var sequenceLength: Int { batchSize == 0 ? 0 : tokens.count / batchSize }
}

/// Errors for inputs a caller passes to a model.
public enum ModelInputError: Error, Equatable, CustomStringConvertible {
    /// A token id outside the vocabulary.
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    /// The token count is not a multiple of the batch size, or another shape is off.
    case badShape(String)
    /// A position beyond what the model supports.
    case positionOutOfRange(Int, limit: Int)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let id, let v): return "token id \(id) is outside the vocabulary (0..<\(v))"
        case .badShape(let s): return "bad model input: \(s)"
        case .positionOutOfRange(let p, let l): return "position \(p) is beyond the model's limit \(l)"
        }
    }
}

/// A decoder-only language model: token ids in, next-token logits out.
public protocol CausalLanguageModel: Module {
    /// Architecture-independent facts about the model.
    var description: ModelDescription { get }
    /// Runs the model. With a cache, the tokens continue the cached sequence and their keys and
    /// values are appended (no autodiff through the cache). Returns logits [rows, V] for the
    /// selected positions — the input's own tokens, never a learned prefix's virtual positions.
    func forward(_ input: ModelInput, cache: KVCache?) throws -> Tensor
    /// Runs the model without a cache up to, not including, the output head: the selected rows'
    /// final hidden states and the head, so a training loss can apply the head chunk by chunk.
    /// `hiddenRows(input).logits` equals `forward(input, cache: nil)`.
    func hiddenRows(_ input: ModelInput) throws -> HiddenRows
    /// Learned virtual positions put before every sequence (`prompt_encoder`: prompt or prefix
    /// tuning), if any.
    var sequencePrefix: (any SequencePrefix)? { get set }
    /// Path of the list of decoder blocks (`model.layers`, `transformer.h`): what
    /// `layers_to_transform` and block-wise freezing count.
    var blockPath: String { get }
}

extension CausalLanguageModel {
    /// The decoder block index in a module path under ``blockPath`` (`model.layers.3.mlp` → 3).
    public func blockIndex(of path: String) -> Int? {
        let prefix = blockPath + "."
        guard path.hasPrefix(prefix) else { return nil }
        return Int(path.dropFirst(prefix.count).prefix { $0 != "." })
    }
}

/// Architecture-independent facts about a loaded model.
public struct ModelDescription: Sendable, Codable, Equatable {
    /// `model_type` ("llama", "qwen2", "mistral", "gpt2", …).
    public var modelType: String
    /// Vocabulary size V.
    public var vocabularySize: Int
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Number of decoder blocks.
    public var layerCount: Int
    /// Query heads.
    public var headCount: Int
    /// Key/value heads (fewer than query heads with grouped-query attention).
    public var kvHeadCount: Int
    /// Width of one head.
    public var headDimension: Int
    /// Longest supported sequence.
    public var maxPositions: Int

    /// The largest size a configuration may give (vocabulary, widths, layers, heads, positions):
    /// 2²⁴, far above any real model and low enough that products of sizes cannot overflow.
    public static let sizeLimit = 1 << 24

    /// A description from its parts.
    public init(modelType: String, vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDimension: Int, maxPositions: Int) {
        self.modelType = modelType
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        self.maxPositions = maxPositions
    }
}

extension CausalLanguageModel {
    /// Default for models without a separate head: the logits themselves, behind the identity head.
    public func hiddenRows(_ input: ModelInput) throws -> HiddenRows {
        HiddenRows(hidden: try forward(input, cache: nil), head: .identity)
    }

    /// Runs the model on `input` without a cache (every position computed from scratch).
    public func forward(_ input: ModelInput) throws -> Tensor { try forward(input, cache: nil) }

    /// A cache sized for this model.
    public func makeCache(batchSize: Int = 1, capacity: Int = 256) -> KVCache {
        KVCache(layers: description.layerCount, batchSize: batchSize, kvHeads: description.kvHeadCount,
                headDimension: description.headDimension, capacity: capacity)
    }

    /// Checks that `cache` was made for this model's layers, key/value heads and head width.
    public func validate(_ cache: KVCache) throws {
        let d = description
        guard cache.layerCount == d.layerCount, cache.kvHeads == d.kvHeadCount, cache.headDimension == d.headDimension else {
            throw ModelInputError.badShape(
                "cache has \(cache.layerCount) layers × \(cache.kvHeads) key/value heads × width \(cache.headDimension); "
                + "the model needs \(d.layerCount) × \(d.kvHeadCount) × \(d.headDimension)")
        }
    }

    /// Checks ids and shapes of a caller's input.
    func validate(_ input: ModelInput, cache: KVCache?) throws {
        guard input.batchSize > 0, input.tokens.count % input.batchSize == 0, !input.tokens.isEmpty else {
            throw ModelInputError.badShape("\(input.tokens.count) tokens in \(input.batchSize) rows")
        }
        let v = description.vocabularySize
        if let bad = input.tokens.first(where: { $0 < 0 || $0 >= v }) {
            throw ModelInputError.tokenOutOfRange(id: bad, vocabularySize: v)
        }
        if let p = input.positions {
            guard p.count == input.tokens.count else { throw ModelInputError.badShape("\(p.count) positions for \(input.tokens.count) tokens") }
            if let bad = p.first(where: { $0 < 0 || $0 >= description.maxPositions }) {
                throw ModelInputError.positionOutOfRange(bad, limit: description.maxPositions)
            }
        } else if (cache?.length ?? 0) + input.sequenceLength > description.maxPositions {
            throw ModelInputError.positionOutOfRange((cache?.length ?? 0) + input.sequenceLength - 1, limit: description.maxPositions)
        }
        if let s = input.segments {
            guard s.count == input.tokens.count else { throw ModelInputError.badShape("\(s.count) segment ids for \(input.tokens.count) tokens") }
            guard cache == nil else { throw ModelInputError.badShape("packed segments cannot be used with a cache") }
        }
        if let ks = input.keyStart, ks.count != input.batchSize {
            throw ModelInputError.badShape("\(ks.count) key starts for \(input.batchSize) rows")
        }
        if let cache {
            try validate(cache)
            guard cache.batchSize == input.batchSize else {
                throw ModelInputError.badShape("cache holds \(cache.batchSize) rows, input has \(input.batchSize)")
            }
        }
        if case .rows(let rows) = input.logits, let bad = rows.first(where: { $0 < 0 || $0 >= input.tokens.count }) {
            throw ModelInputError.badShape("logit row \(bad) outside 0..<\(input.tokens.count)")
        }
    }

    /// The shared start of a forward pass: validates the input, resolves a learned prefix, reserves
    /// cache room, and returns every query's position and the attention mask.
    func beginForward(_ input: ModelInput, cache: KVCache?) throws -> ForwardPlan {
        try validate(input, cache: cache)
        let (b, t) = (input.batchSize, input.sequenceLength)
        let cached = cache?.length ?? 0
        // A prefix enters once per sequence: every pass without a cache, the first into a cache.
        let fresh = cached == 0 ? try sequencePrefix?.resolve(batch: b, model: description) : nil
        let p = fresh?.length ?? cache?.prefixLength ?? 0
        var embeddings: Tensor?, keyValues: [(keys: Tensor, values: Tensor)]?
        switch fresh?.content {
        case .embeddings(let e)?: embeddings = e
        case .keyValues(let kv)?: keyValues = kv
        case nil: break
        }
        let virtualQueries = embeddings == nil ? 0 : p
        // Token positions count from the end of the prefix; virtual inputs take 0..<P.
        let tokenPositions = input.positions ?? (0..<input.tokens.count).map { cached - (cache?.prefixLength ?? 0) + $0 % t }
        var positions: [Int32] = []
        positions.reserveCapacity(b * (t + virtualQueries))
        for r in 0..<b {
            positions += (0..<Int32(virtualQueries))
            for position in tokenPositions[(r * t)..<((r + 1) * t)] {
                // Validated against maxPositions (≤ 2²⁴) below, so Int32 holds every accepted value.
                guard position + p < description.maxPositions else {
                    throw ModelInputError.positionOutOfRange(position + p, limit: description.maxPositions)
                }
                positions.append(Int32(position + p))
            }
        }
        cache?.reserve(t + (fresh == nil ? 0 : p))
        if input.segments != nil && p > 0 {
            throw ModelInputError.badShape("packed segments cannot be combined with a learned prefix (prompt or prefix tuning)")
        }
        let mask = AttentionMask(causal: true, queryOffset: cached + (keyValues == nil ? 0 : p),
                                 keyStart: input.keyStart.map { $0.map { $0 + p } }, prefixLength: p,
                                 segmentStart: input.segments.map { AttentionMask.segmentStarts(segments: $0, batch: input.batchSize) })
        // Every id was checked against the vocabulary (< 2²⁴) in `validate`.
        let tokenIDs = input.tokens.map { Int32(truncatingIfNeeded: $0) }
        return ForwardPlan(batch: b, length: t, tokenIDs: tokenIDs, positions: positions, mask: mask, prefixLength: p,
                           prefixEmbeddings: embeddings, prefixKeyValues: keyValues)
    }

    /// Finishes a forward pass over hidden states h [B, P + T, C] (P virtual positions when the
    /// prefix was embeddings): advances the cache, drops virtual positions, keeps the selected rows.
    func endForward(_ h: Tensor, plan: ForwardPlan, input: ModelInput, cache: KVCache?) -> Tensor {
        if let cache {
            let written = h.shape[1] + (plan.prefixKeyValues == nil ? 0 : plan.prefixLength)
            if cache.length == 0 && plan.prefixLength > 0 { cache.prefixLength = plan.prefixLength }
            cache.advance(by: written)
        }
        let virtual = h.shape[1] - plan.length
        let tokens = virtual > 0 ? h.split(axis: 1, sizes: [virtual, plan.length])[1] : h
        return tokens.reshaped([plan.batch * plan.length, h.shape[2]]).selectingRows(input.logits, batch: plan.batch, length: plan.length)
    }

}

/// What ``CausalLanguageModel/beginForward(_:cache:)`` works out for one pass.
struct ForwardPlan {
    /// B and T (the input's own tokens).
    let batch: Int, length: Int
    /// The input's token ids, validated, in the embedding op's index type ([B·T]).
    let tokenIDs: [Int32]
    /// Position of every query row by row, virtual inputs first ([B·(P+T)] or [B·T]).
    let positions: [Int32]
    /// The mask for this pass.
    let mask: AttentionMask
    /// Virtual positions in this sequence (new this pass or already cached).
    let prefixLength: Int
    /// Virtual input embeddings [B, P, C] to put before the tokens (prompt tuning), this pass only.
    let prefixEmbeddings: Tensor?
    /// Per layer, keys and values [B, P, G, D] to put before the tokens' own (prefix tuning).
    let prefixKeyValues: [(keys: Tensor, values: Tensor)]?

    /// The attention context of decoder layer `layer`.
    func context(layer: Int, cache: KVCache?) -> AttentionContext {
        AttentionContext(positions: positions, mask: mask, cache: cache, layer: layer, prefix: prefixKeyValues?[layer])
    }

    /// Runs one decoder block, through gradient checkpointing when it is on — except when learned
    /// prefix keys and values enter the block from outside (their gradients would not survive the
    /// recomputation).
    func checkpointing(_ h: Tensor, block: any Module, _ body: @escaping (Tensor) -> Tensor) -> Tensor {
        guard prefixKeyValues == nil else { return body(h) }
        return GradientCheckpointing.segment(h, parameters: block.namedParameters().map(\.parameter), body)
    }

    /// Token embeddings [B, T, C] with the virtual ones put before them.
    func withPrefix(_ embeddings: Tensor) -> Tensor {
        prefixEmbeddings.map { Tensor.concat([$0, embeddings], axis: 1) } ?? embeddings
    }
}

extension LogitsSelection {
    /// Flat row indices into [B·T] this selection keeps, or nil for all.
    func rowIndices(batch: Int, length: Int) -> [Int32]? {
        switch self {
        case .all: return nil
        case .last: return (0..<batch).map { Int32($0 * length + length - 1) }
        case .rows(let r): return r.map { Int32($0) }
        }
    }
}

extension Tensor {
    /// Keeps the rows of x [N, C] that `selection` asks for (differentiable).
    func selectingRows(_ selection: LogitsSelection, batch: Int, length: Int) -> Tensor {
        guard let rows = selection.rowIndices(batch: batch, length: length) else { return self }
        return Tensor.embedding(self, ids: rows, shape: [rows.count])
    }
}
