/// A tokenizer loaded from a model's files: byte-level BPE (GPT-2, Llama-3, Qwen2, DeepSeek, …),
/// SentencePiece-style BPE (Llama-2), with added/special tokens and the model's BOS/EOS rules.
///
/// Create one with `TokenizerLoader`. Copies share a thread-safe cache of encoded pieces, so one
/// value can encode from several threads.
public struct PretrainedTokenizer: Tokenizer {
    /// The subword algorithm.
    enum Model: Sendable {
        case bpe(BPEModel)
        case sentencePiece(SentencePieceModel)
    }

    /// A short human-readable summary, e.g. `byte-level BPE, pre-tokenizer qwen2, 151936 tokens`.
    public let summary: String
    let vocabulary: Vocabulary
    let model: Model
    let normalizer: Normalizer
    let preTokenizer: PreTokenizer?
    let specialTokens: SpecialTokenMatcher
    /// Ids put before/after the text when special tokens are added.
    let prefixIDs: [Int]
    let suffixIDs: [Int]
    /// Drop one leading space from decoded text (the SentencePiece dummy prefix).
    let decodeStripsLeadingSpace: Bool
    /// Beginning-of-sequence token, if the model uses one.
    public let bosTokenID: Int?
    /// End-of-sequence token.
    public let eosTokenID: Int?
    /// Padding token, if defined.
    public let padTokenID: Int?
    /// The model's chat template (Jinja source) when its files carry one.
    public let chatTemplate: String?
    let cache = PieceCache()

    init(
        summary: String, vocabulary: Vocabulary, model: Model, normalizer: Normalizer, preTokenizer: PreTokenizer?,
        specialTokens: SpecialTokenMatcher, prefixIDs: [Int], suffixIDs: [Int], decodeStripsLeadingSpace: Bool,
        bosTokenID: Int?, eosTokenID: Int?, padTokenID: Int?, chatTemplate: String?
    ) {
        self.summary = summary
        self.vocabulary = vocabulary
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.specialTokens = specialTokens
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
        self.decodeStripsLeadingSpace = decodeStripsLeadingSpace
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.padTokenID = padTokenID
        self.chatTemplate = chatTemplate
    }

    /// Number of ids the tokenizer can produce.
    public var vocabularySize: Int { vocabulary.count }

    /// Id of a token given by its exact vocabulary string (e.g. `"<|im_end|>"`).
    public func tokenID(for token: String) -> Int? { vocabulary.id(of: token) }

    /// The vocabulary string of a token (e.g. `"Ġhello"` in a byte-level vocabulary), if `id` is valid.
    public func token(for id: Int) -> String? {
        id >= 0 && id < vocabulary.count ? vocabulary.texts[id] : nil
    }

    /// Whether `id` is a control or unknown token (left out by `decode(_:skipSpecialTokens: true)`).
    public func isSpecial(_ id: Int) -> Bool {
        guard id >= 0 && id < vocabulary.count else { return false }
        let kind = vocabulary.kinds[id]
        return kind == .control || kind == .unknown
    }

    /// The raw bytes token `id` stands for; empty for unknown ids.
    public func bytes(forToken id: Int) -> [UInt8] { Array(vocabulary.bytes(of: id)) }

    /// Decodes ids to text (invalid UTF-8 becomes U+FFFD, unknown ids are ignored).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var stripPending = decodeStripsLeadingSpace
        for id in ids where id >= 0 && id < vocabulary.count {
            if skipSpecialTokens && isSpecial(id) { continue }
            var piece = vocabulary.bytes(of: id)
            if stripPending && !piece.isEmpty {
                // The dummy prefix is removed only when the text starts with it (Hugging Face `Strip`).
                stripPending = false
                if piece.first == 0x20 { piece = piece.dropFirst() }
            }
            bytes.append(contentsOf: piece)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Encodes `text`, matching special tokens written in it.
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        encode(text, addSpecialTokens: addSpecialTokens, parseSpecialTokens: true)
    }

    /// Encodes `text`; see `Tokenizer.encode(_:addSpecialTokens:parseSpecialTokens:)`.
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecialTokens: Bool) -> [Int] {
        var output: [Int] = []
        output.reserveCapacity(text.utf8.count / 3 + 4)
        if addSpecialTokens { output.append(contentsOf: prefixIDs) }
        var text = text
        text.withUTF8 { bytes in
            var state = EncodingState()
            if specialTokens.isEmpty {
                encodeRun(bytes, isFirstRun: true, followsToken: false, &state, &output)
                return
            }
            var followsToken = false
            for segment in specialTokens.segments(bytes, parseSpecial: parseSpecialTokens) {
                switch segment {
                case let .token(id):
                    output.append(id)
                    followsToken = true
                case let .text(range):
                    encodeRun(UnsafeBufferPointer(rebasing: bytes[range]), isFirstRun: range.lowerBound == 0,
                              followsToken: followsToken, &state, &output)
                    followsToken = false
                }
            }
        }
        if addSpecialTokens { output.append(contentsOf: suffixIDs) }
        return output
    }

    /// The pieces BPE encodes separately: `text` normalized and cut by the pre-tokenizer, as one run of
    /// ordinary text (added tokens are not matched). For inspection and tests, like Hugging Face's
    /// `pre_tokenize_str`.
    public func preTokenize(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { raw in
            let normalized = normalizer.isIdentity ? Array(raw) : normalizer.apply(raw, isFirstRun: true, followsToken: false)
            guard let preTokenizer else { return normalized.isEmpty ? [] : [String(decoding: normalized, as: UTF8.self)] }
            return normalized.withUnsafeBufferPointer { bytes in
                var scalars = ScalarText()
                scalars.load(bytes)
                var ends: [Int] = []
                var scratch: [Int] = []
                preTokenizer.split(scalars, into: &ends, scratch: &scratch)
                var start = 0
                return ends.map { end in
                    defer { start = end }
                    return String(decoding: bytes[scalars.byteOffsets[start]..<scalars.byteOffsets[end]], as: UTF8.self)
                }
            }
        }
    }

    /// Working memory reused across the runs of one `encode` call.
    struct EncodingState {
        var text = ScalarText()
        var ends: [Int] = []
        var splitScratch: [Int] = []
        var bpe = BPEModel.Scratch()
        var sentencePiece = SentencePieceMerger()
    }

    /// Encodes one run of ordinary text (between added tokens).
    private func encodeRun(
        _ raw: UnsafeBufferPointer<UInt8>, isFirstRun: Bool, followsToken: Bool,
        _ state: inout EncodingState, _ output: inout [Int]
    ) {
        if normalizer.isIdentity {
            encodeNormalized(raw, &state, &output)
        } else {
            let normalized = normalizer.apply(raw, isFirstRun: isFirstRun, followsToken: followsToken)
            normalized.withUnsafeBufferPointer { encodeNormalized($0, &state, &output) }
        }
    }

    private func encodeNormalized(_ bytes: UnsafeBufferPointer<UInt8>, _ state: inout EncodingState, _ output: inout [Int]) {
        switch model {
        case let .sentencePiece(model):
            state.sentencePiece.encode(bytes, vocabulary: vocabulary.lookup, scores: model.scores,
                                       byteTokens: model.byteTokens, unknownID: model.unknownID, into: &output)
        case let .bpe(model):
            guard let preTokenizer else {
                encodePiece(bytes, model, &state, &output)
                return
            }
            state.text.load(bytes)
            preTokenizer.split(state.text, into: &state.ends, scratch: &state.splitScratch)
            var start = 0
            for end in state.ends {
                let range = state.text.byteOffsets[start]..<state.text.byteOffsets[end]
                encodePiece(UnsafeBufferPointer(rebasing: bytes[range]), model, &state, &output)
                start = end
            }
        }
    }

    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, _ model: BPEModel, _ state: inout EncodingState, _ output: inout [Int]) {
        guard piece.count <= PieceCache.maximumPieceLength else {
            model.encode(piece, vocabulary: vocabulary, scratch: &state.bpe, into: &output)
            return
        }
        let hash = ByteHash.hash(piece)
        if cache.lookup(piece, hash: hash, into: &output) { return }
        let first = output.count
        model.encode(piece, vocabulary: vocabulary, scratch: &state.bpe, into: &output)
        cache.insert(piece, hash: hash, ids: output[first...])
    }
}
