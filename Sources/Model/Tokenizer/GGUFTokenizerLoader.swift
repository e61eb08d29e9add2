/// Builds a `PretrainedTokenizer` from GGUF metadata (`tokenizer.ggml.*`), following llama.cpp:
/// model `gpt2` is byte-level BPE with the pre-tokenizer named by `tokenizer.ggml.pre`; model
/// `llama` is SentencePiece BPE with scores, byte tokens and a dummy-prefix space.
enum GGUFTokenizerLoader {
    /// Reads the tokenizer of an opened GGUF file (vocabulary-only files included).
    static func load(_ file: GGUFFile) throws -> PretrainedTokenizer {
        try load(metadata: file.metadata)
    }

    /// Reads the tokenizer from GGUF metadata values.
    static func load(metadata: [String: GGUFValue]) throws -> PretrainedTokenizer {
        let reader = MetadataReader(metadata: metadata)
        let modelName = try reader.requiredString("tokenizer.ggml.model")
        let texts = try reader.requiredStrings("tokenizer.ggml.tokens")
        guard !texts.isEmpty else { throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens", reason: "empty vocabulary") }
        let count = texts.count

        var kinds = [TokenKind](repeating: .normal, count: count)
        if let types = try reader.optionalInts("tokenizer.ggml.token_type") {
            guard types.count >= count else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.token_type", reason: "\(types.count) entries for \(count) tokens")
            }
            for id in 0..<count { kinds[id] = TokenKind(rawValue: UInt8(clamping: max(types[id], 0))) ?? .normal }
        }
        var scores = [Float](repeating: 0, count: count)
        if let values = try reader.optionalFloats("tokenizer.ggml.scores") {
            guard values.count >= count else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.scores", reason: "\(values.count) entries for \(count) tokens")
            }
            scores = Array(values[0..<count])
        }
        // llama.cpp replaces empty token strings so that they cannot match anything.
        let vocabularyTexts = texts.enumerated().map { $1.isEmpty ? "[EMPTY_\($0)]" : $1 }

        let model: PretrainedTokenizer.Model
        let vocabulary: Vocabulary
        var normalizer = Normalizer()
        var preTokenizer: PreTokenizer?
        var defaults: (bos: Int?, eos: Int?, unknown: Int?, addBOS: Bool)
        var stripsLeadingSpace = false
        var summary: String

        switch modelName {
        case "gpt2":
            let preName = try reader.optionalString("tokenizer.ggml.pre")
            let splitter = try KnownPreTokenizers.forGGUF(name: preName)
            let conventions = KnownPreTokenizers.ggufConventions(name: preName)
            vocabulary = Vocabulary(texts: vocabularyTexts, kinds: kinds, form: .byteLevel)
            let lines = try reader.requiredStrings("tokenizer.ggml.merges")
            let merges = lines.compactMap(BPEBuilder.splitMergeLine)
            let table = try BPEBuilder.mergeTable(merges, vocabulary: vocabulary, strict: false)
            model = .bpe(BPEModel(
                merges: table, byteLevel: true, byteSymbols: BPEBuilder.byteLevelSymbols(vocabulary),
                byteFallback: nil, unknownID: -1, fuseUnknown: false,
                wholePieces: conventions.ignoreMerges ? BPEBuilder.byteLevelWholePieces(vocabulary) : nil))
            preTokenizer = splitter
            defaults = (nil, nil, nil, conventions.addsBOS)
            summary = "byte-level BPE, pre-tokenizer \(splitter.name), \(count) tokens, \(table.count) merges"
        case "llama":
            vocabulary = Vocabulary(texts: vocabularyTexts, kinds: kinds, form: .sentencePiece)
            let addSpacePrefix = try reader.optionalBool("tokenizer.ggml.add_space_prefix") ?? true
            if addSpacePrefix {
                normalizer.steps.append(.prepend(prefix: [0x20], when: .firstRunOrAfterToken, unlessPresent: false))
            }
            normalizer.steps.append(.replace(pattern: [0x20], with: Array("\u{2581}".utf8)))
            stripsLeadingSpace = addSpacePrefix
            let unknown = try reader.optionalTokenID("tokenizer.ggml.unknown_token_id", count: count) ?? (count > 0 ? 0 : nil)
            model = .sentencePiece(SentencePieceModel(
                scores: scores, byteTokens: vocabulary.byteTokenIDs(), unknownID: Int32(unknown ?? -1)))
            defaults = (count > 1 ? 1 : nil, count > 2 ? 2 : nil, unknown, true)
            summary = "SentencePiece BPE, \(count) tokens"
        default:
            throw TokenizerError.unsupportedModel(modelName)
        }

        let bos = try reader.optionalTokenID("tokenizer.ggml.bos_token_id", count: count) ?? defaults.bos
        let eos = try reader.optionalTokenID("tokenizer.ggml.eos_token_id", count: count) ?? defaults.eos
        let pad = try reader.optionalTokenID("tokenizer.ggml.padding_token_id", count: count)
        let addBOS = try reader.optionalBool("tokenizer.ggml.add_bos_token") ?? defaults.addBOS
        let addEOS = try reader.optionalBool("tokenizer.ggml.add_eos_token") ?? false

        // Control and unknown tokens are matched in text only when special tokens are parsed;
        // user-defined tokens always (llama.cpp's tokenizer_st_partition).
        var entries: [SpecialTokenMatcher.Entry] = []
        for id in 0..<count {
            switch kinds[id] {
            case .control, .unknown:
                entries.append(.init(text: texts[id], id: id, onlyWhenParsingSpecial: true))
            case .userDefined:
                entries.append(.init(text: texts[id], id: id, onlyWhenParsingSpecial: false))
            default:
                break
            }
        }

        return PretrainedTokenizer(
            summary: summary, vocabulary: vocabulary, model: model, normalizer: normalizer, preTokenizer: preTokenizer,
            specialTokens: SpecialTokenMatcher(entries),
            prefixIDs: addBOS ? bos.map { [$0] } ?? [] : [], suffixIDs: addEOS ? eos.map { [$0] } ?? [] : [],
            decodeStripsLeadingSpace: stripsLeadingSpace,
            bosTokenID: bos, eosTokenID: eos, padTokenID: pad,
            chatTemplate: try reader.optionalString("tokenizer.chat_template"))
    }
}

/// Typed access to GGUF metadata that reports problems as `TokenizerError`.
private struct MetadataReader {
    let metadata: [String: GGUFValue]

    func requiredString(_ key: String) throws -> String {
        guard let value = metadata[key] else { throw TokenizerError.missingKey(key) }
        guard let string = value.string else { throw TokenizerError.invalidValue(key: key, reason: "expected a string") }
        return string
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = metadata[key] else { return nil }
        guard let string = value.string else { throw TokenizerError.invalidValue(key: key, reason: "expected a string") }
        return string
    }

    func requiredStrings(_ key: String) throws -> [String] {
        guard let value = metadata[key] else { throw TokenizerError.missingKey(key) }
        guard let strings = value.stringArray else { throw TokenizerError.invalidValue(key: key, reason: "expected an array of strings") }
        return strings
    }

    func optionalInts(_ key: String) throws -> [Int]? {
        guard let value = metadata[key] else { return nil }
        guard let ints = value.intArray else { throw TokenizerError.invalidValue(key: key, reason: "expected an array of integers") }
        return ints
    }

    func optionalFloats(_ key: String) throws -> [Float]? {
        guard let value = metadata[key] else { return nil }
        guard let floats = value.floatArray else { throw TokenizerError.invalidValue(key: key, reason: "expected an array of numbers") }
        return floats
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard let bool = value.bool else { throw TokenizerError.invalidValue(key: key, reason: "expected a boolean") }
        return bool
    }

    /// A token id; llama.cpp ignores ids outside the vocabulary, and so does this (nil).
    func optionalTokenID(_ key: String, count: Int) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        guard let id = value.int else { throw TokenizerError.invalidValue(key: key, reason: "expected an integer") }
        return id >= 0 && id < count ? id : nil
    }
}
