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
    /// Token ids, row-major [B, T].
    public var tokens: [Int32]
    /// B.
    public var batchSize: Int
    /// Position of each token ([B, T]); by default the cache length (or 0) plus t.
    public var positions: [Int32]?
    /// Per row, the first key that is not left padding (in cache coordinates); nil if none.
    public var keyStart: [Int]?
    /// Which logits to compute.
    public var logits: LogitsSelection

    /// An input of `batchSize` equally long rows.
    public init(tokens: [Int32], batchSize: Int = 1, positions: [Int32]? = nil, keyStart: [Int]? = nil,
                logits: LogitsSelection = .all) {
        self.tokens = tokens
        self.batchSize = batchSize
        self.positions = positions
        self.keyStart = keyStart
        self.logits = logits
    }

    /// T.
    public var sequenceLength: Int { batchSize == 0 ? 0 : tokens.count / batchSize }
}

/// Errors for inputs a caller passes to a model.
public enum ModelInputError: Error, Equatable, CustomStringConvertible {
    /// A token id outside the vocabulary.
    case tokenOutOfRange(id: Int32, vocabularySize: Int)
    /// The token count is not a multiple of the batch size, or another shape is off.
    case badShape(String)
    /// A position beyond what the model supports.
    case positionOutOfRange(Int32, limit: Int)

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
    /// selected positions.
    func forward(_ input: ModelInput, cache: KVCache?) throws -> Tensor
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
        if let bad = input.tokens.first(where: { $0 < 0 || Int($0) >= v }) {
            throw ModelInputError.tokenOutOfRange(id: bad, vocabularySize: v)
        }
        if let p = input.positions {
            guard p.count == input.tokens.count else { throw ModelInputError.badShape("\(p.count) positions for \(input.tokens.count) tokens") }
            if let bad = p.first(where: { $0 < 0 || Int($0) >= description.maxPositions }) {
                throw ModelInputError.positionOutOfRange(bad, limit: description.maxPositions)
            }
        } else if (cache?.length ?? 0) + input.sequenceLength > description.maxPositions {
            throw ModelInputError.positionOutOfRange(Int32((cache?.length ?? 0) + input.sequenceLength - 1), limit: description.maxPositions)
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

    /// The shared start of a forward pass: validates the input, reserves cache room, and returns
    /// B, T, each token's position and the attention mask.
    func beginForward(_ input: ModelInput, cache: KVCache?) throws -> (batch: Int, length: Int, positions: [Int32], mask: AttentionMask) {
        try validate(input, cache: cache)
        let positions = positions(for: input, cache: cache)
        cache?.reserve(input.sequenceLength)
        let mask = AttentionMask(causal: true, queryOffset: cache?.length ?? 0, keyStart: input.keyStart)
        return (input.batchSize, input.sequenceLength, positions, mask)
    }

    /// Positions for `input`: given, or the cache length plus t.
    func positions(for input: ModelInput, cache: KVCache?) -> [Int32] {
        if let p = input.positions { return p }
        let start = cache?.length ?? 0, t = input.sequenceLength
        return (0..<input.tokens.count).map { Int32(start + $0 % t) }
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
