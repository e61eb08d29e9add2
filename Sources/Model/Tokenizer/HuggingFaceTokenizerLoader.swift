import Foundation

/// Builds a `PretrainedTokenizer` from a Hugging Face `tokenizer.json` (and optionally the
/// `tokenizer_config.json` next to it, for the chat template and BOS/EOS/PAD tokens).
///
/// Supported: the `BPE` model (byte-level or SentencePiece-style with byte fallback), normalizers
/// `NFC`, `NFKC`, `Lowercase`, `Prepend`, `Replace` (literal), `Sequence`; pre-tokenizers `ByteLevel`,
/// `Split` (known regexes and the simple subset of `SplitPattern`, `Isolated` behaviour), `Digits`,
/// `Metaspace`, `Sequence`; post-processors `TemplateProcessing`, `ByteLevel`, `RobertaProcessing`,
/// `BertProcessing`, `Sequence`. Anything else throws a `TokenizerError` naming it.
enum HuggingFaceTokenizerLoader {
    /// Parses `tokenizerJSON`; `config` is the content of `tokenizer_config.json`, if any.
    static func load(tokenizerJSON: Data, config: Data?, fileName: String = "tokenizer.json") throws -> PretrainedTokenizer {
        let root = try parseObject(tokenizerJSON, fileName: fileName)
        let configRoot = try config.map { try parseObject($0, fileName: "tokenizer_config.json") }

        guard let model = root["model"] as? [String: Any] else { throw TokenizerError.missingKey("model") }
        let modelType = model["type"] as? String ?? "BPE"
        guard modelType == "BPE" else { throw TokenizerError.unsupportedModel(modelType) }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key] as? String, !value.isEmpty {
                throw TokenizerError.unsupportedModel("BPE with \(key) '\(value)'")
            }
        }

        // Vocabulary: model vocab plus added tokens.
        guard let vocab = model["vocab"] as? [String: Any] else { throw TokenizerError.missingKey("model.vocab") }
        var textByID: [Int: String] = [:]
        textByID.reserveCapacity(vocab.count)
        for (text, value) in vocab {
            guard let id = integer(value), id >= 0 else {
                throw TokenizerError.invalidValue(key: "model.vocab[\(text)]", reason: "expected a non-negative integer id")
            }
            textByID[id] = text
        }
        let added = try addedTokens(root)
        for token in added { textByID[token.id] = token.content }
        let size = (textByID.keys.max() ?? -1) + 1
        guard size > 0 else { throw TokenizerError.invalidValue(key: "model.vocab", reason: "empty vocabulary") }
        // Ids may leave holes, but not so many that the id space dwarfs the vocabulary.
        guard size <= 2 * textByID.count + 1024 else {
            throw TokenizerError.invalidValue(key: "model.vocab", reason: "id \(size - 1) is far beyond the \(textByID.count) tokens")
        }
        var texts = [String](repeating: "", count: size)
        var kinds = [TokenKind](repeating: .normal, count: size)
        for (id, text) in textByID { texts[id] = text }
        for id in 0..<size where textByID[id] == nil { kinds[id] = .unused }

        let byteFallback = model["byte_fallback"] as? Bool ?? false
        if byteFallback {
            for id in 0..<size where Vocabulary.byteTokenValue(texts[id]) != nil { kinds[id] = .byte }
        }
        let unknownText = model["unk_token"] as? String
        for token in added { kinds[token.id] = token.special ? .control : .userDefined }
        if let unknownText, let id = texts.firstIndex(of: unknownText), kinds[id] == .normal { kinds[id] = .unknown }

        // Pipeline pieces.
        var normalizer = Normalizer(steps: try normalizerSteps(root["normalizer"]))
        let preTokenizerInfo = try preTokenizer(root["pre_tokenizer"])
        normalizer.steps.append(contentsOf: preTokenizerInfo.normalizerSteps)
        let decoderInfo = decoder(root["decoder"])
        let byteLevel = preTokenizerInfo.byteLevel || decoderInfo.byteLevel
        let form: Vocabulary.TextForm = byteLevel ? .byteLevel : (decoderInfo.spaceMarker || byteFallback ? .sentencePiece : .plain)
        let vocabulary = Vocabulary(texts: texts, kinds: kinds, form: form)

        // Merges.
        guard let mergeList = model["merges"] as? [Any] else { throw TokenizerError.missingKey("model.merges") }
        var merges: [(Substring, Substring)] = []
        merges.reserveCapacity(mergeList.count)
        for (index, item) in mergeList.enumerated() {
            if let line = item as? String, let pair = BPEBuilder.splitMergeLine(line) {
                merges.append(pair)
            } else if let pair = item as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                merges.append((left[...], right[...]))
            } else {
                throw TokenizerError.invalidValue(key: "model.merges[\(index)]", reason: "expected \"a b\" or [\"a\", \"b\"]")
            }
        }
        let mergeTable = try BPEBuilder.mergeTable(merges, vocabulary: vocabulary, strict: true)
        let unknownID = unknownText.flatMap { vocabulary.id(of: $0) }.map { Int32($0) } ?? -1
        let ignoreMerges = model["ignore_merges"] as? Bool ?? false
        let bpe = BPEModel(
            merges: mergeTable, byteLevel: byteLevel,
            byteSymbols: byteLevel ? BPEBuilder.byteLevelSymbols(vocabulary) : [],
            byteFallback: byteFallback ? vocabulary.byteTokenIDs() : nil,
            unknownID: unknownID, fuseUnknown: model["fuse_unk"] as? Bool ?? false,
            wholePieces: ignoreMerges ? (byteLevel ? BPEBuilder.byteLevelWholePieces(vocabulary) : vocabulary.lookup) : nil)

        // Special tokens and post-processing.
        let matcher = SpecialTokenMatcher(added.map {
            SpecialTokenMatcher.Entry(text: $0.content, id: $0.id, onlyWhenParsingSpecial: $0.special,
                                      stripLeft: $0.lstrip, stripRight: $0.rstrip)
        })
        var (prefix, suffix) = try postProcessor(root["post_processor"], vocabulary: vocabulary)
        let bos = try configToken(configRoot, "bos_token", vocabulary)
        let eos = try configToken(configRoot, "eos_token", vocabulary)
        let pad = try configToken(configRoot, "pad_token", vocabulary)
        if let addBOS = configRoot?["add_bos_token"] as? Bool, let bos {
            prefix.removeAll { $0 == bos }
            if addBOS { prefix.insert(bos, at: 0) }
        }
        if let addEOS = configRoot?["add_eos_token"] as? Bool, let eos {
            suffix.removeAll { $0 == eos }
            if addEOS { suffix.append(eos) }
        }

        let kind = byteLevel ? "byte-level BPE" : "BPE"
        let preName = preTokenizerInfo.preTokenizer?.name ?? "none"
        return PretrainedTokenizer(
            summary: "\(kind), pre-tokenizer \(preName), \(vocabulary.count) tokens, \(mergeTable.count) merges",
            vocabulary: vocabulary, model: .bpe(bpe), normalizer: normalizer,
            preTokenizer: preTokenizerInfo.preTokenizer, specialTokens: matcher,
            prefixIDs: prefix, suffixIDs: suffix, decodeStripsLeadingSpace: decoderInfo.stripsLeadingSpace,
            bosTokenID: bos ?? prefix.first, eosTokenID: eos ?? suffix.last, padTokenID: pad,
            chatTemplate: chatTemplate(configRoot))
    }

    // MARK: - JSON helpers

    static func parseObject(_ data: Data, fileName: String) throws -> [String: Any] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.malformedJSON(file: fileName, reason: "not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            throw TokenizerError.malformedJSON(file: fileName, reason: "the top level is not an object")
        }
        return dictionary
    }

    /// JSON `true`/`false` come back as NSNumber subclass instances; this is their class.
    private static let booleanNumberType = type(of: NSNumber(value: true))

    static func integer(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber, type(of: number) != booleanNumberType else { return nil }
        let double = number.doubleValue
        guard double == double.rounded(), abs(double) < 1e15 else { return nil }
        return number.intValue
    }

    // MARK: - Added tokens

    private struct AddedToken {
        var id: Int
        var content: String
        var special: Bool
        var lstrip: Bool
        var rstrip: Bool
    }

    private static func addedTokens(_ root: [String: Any]) throws -> [AddedToken] {
        guard let value = root["added_tokens"], !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else {
            throw TokenizerError.invalidValue(key: "added_tokens", reason: "expected an array")
        }
        return try list.enumerated().map { index, item in
            guard let entry = item as? [String: Any], let id = integer(entry["id"]), id >= 0,
                  let content = entry["content"] as? String else {
                throw TokenizerError.invalidValue(key: "added_tokens[\(index)]", reason: "expected {\"id\": Int, \"content\": String, …}")
            }
            return AddedToken(id: id, content: content, special: entry["special"] as? Bool ?? false,
                              lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false)
        }
    }

    // MARK: - Normalizer

    private static func normalizerSteps(_ value: Any?) throws -> [Normalizer.Step] {
        guard let value, !(value is NSNull) else { return [] }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw TokenizerError.invalidValue(key: "normalizer", reason: "expected an object with a type")
        }
        switch type {
        case "Sequence":
            guard let list = object["normalizers"] as? [Any] else { throw TokenizerError.missingKey("normalizer.normalizers") }
            return try list.flatMap { try normalizerSteps($0) }
        case "NFC":
            return [.nfc]
        case "NFKC":
            return [.nfkc]
        case "Lowercase":
            return [.lowercase]
        case "Prepend":
            guard let prefix = object["prepend"] as? String else { throw TokenizerError.missingKey("normalizer.prepend") }
            return [.prepend(prefix: Array(prefix.utf8), when: .always, unlessPresent: false)]
        case "Replace":
            guard let content = object["content"] as? String else { throw TokenizerError.missingKey("normalizer.content") }
            guard let pattern = object["pattern"] as? [String: Any], let literal = pattern["String"] as? String else {
                throw TokenizerError.unsupportedNormalizer("Replace with a regex pattern")
            }
            return [.replace(pattern: Array(literal.utf8), with: Array(content.utf8))]
        default:
            throw TokenizerError.unsupportedNormalizer(type)
        }
    }

    // MARK: - Pre-tokenizer

    private struct PreTokenizerInfo {
        var preTokenizer: PreTokenizer?
        var normalizerSteps: [Normalizer.Step] = []
        var byteLevel = false
    }

    private static func preTokenizer(_ value: Any?) throws -> PreTokenizerInfo {
        var info = PreTokenizerInfo()
        var steps: [PreTokenizer.Step] = []
        var names: [String] = []
        try collectPreTokenizer(value, &steps, &names, &info)
        if !steps.isEmpty {
            info.preTokenizer = PreTokenizer(name: names.joined(separator: "+"), steps: steps)
        }
        return info
    }

    private static func collectPreTokenizer(
        _ value: Any?, _ steps: inout [PreTokenizer.Step], _ names: inout [String], _ info: inout PreTokenizerInfo
    ) throws {
        guard let value, !(value is NSNull) else { return }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw TokenizerError.invalidValue(key: "pre_tokenizer", reason: "expected an object with a type")
        }
        switch type {
        case "Sequence":
            guard let list = object["pretokenizers"] as? [Any] else { throw TokenizerError.missingKey("pre_tokenizer.pretokenizers") }
            for item in list { try collectPreTokenizer(item, &steps, &names, &info) }
        case "ByteLevel":
            info.byteLevel = true
            if object["add_prefix_space"] as? Bool ?? false {
                info.normalizerSteps.append(.prepend(prefix: [0x20], when: .always, unlessPresent: true))
            }
            if object["use_regex"] as? Bool ?? true {
                steps.append(.gpt2)
                names.append("gpt2")
            }
        case "Split":
            let behavior = (object["behavior"] as? String ?? "Isolated").lowercased()
            guard behavior == "isolated" else { throw TokenizerError.unsupportedPreTokenizer("Split with behavior \(behavior)") }
            guard !(object["invert"] as? Bool ?? false) else { throw TokenizerError.unsupportedPreTokenizer("Split with invert") }
            guard let pattern = object["pattern"] as? [String: Any] else { throw TokenizerError.missingKey("pre_tokenizer.pattern") }
            if let regex = pattern["Regex"] as? String {
                let step = try KnownPreTokenizers.step(forRegex: regex)
                steps.append(step)
                switch step {
                case .gpt2: names.append("gpt2")
                case .llama3(let digits): names.append(digits == 3 ? "llama3" : "qwen2")
                default: names.append("split")
                }
            } else if let literal = pattern["String"] as? String, !literal.isEmpty {
                let escaped = literal.unicodeScalars.map { "[\(Self.escapeInBracket($0))]" }.joined()
                steps.append(.pattern(try SplitPattern(escaped)))
                names.append("split")
            } else {
                throw TokenizerError.invalidValue(key: "pre_tokenizer.pattern", reason: "expected {\"Regex\": …} or {\"String\": …}")
            }
        case "Digits":
            steps.append(.digits(individual: object["individual_digits"] as? Bool ?? false))
            names.append("digits")
        case "Metaspace":
            let replacement = object["replacement"] as? String ?? "\u{2581}"
            guard let marker = replacement.unicodeScalars.first, replacement.unicodeScalars.count == 1 else {
                throw TokenizerError.invalidValue(key: "pre_tokenizer.replacement", reason: "expected one character")
            }
            let scheme = object["prepend_scheme"] as? String
                ?? ((object["add_prefix_space"] as? Bool ?? true) ? "always" : "never")
            info.normalizerSteps.append(.replace(pattern: [0x20], with: Array(replacement.utf8)))
            switch scheme {
            case "always": info.normalizerSteps.append(.prepend(prefix: Array(replacement.utf8), when: .always, unlessPresent: true))
            case "first": info.normalizerSteps.append(.prepend(prefix: Array(replacement.utf8), when: .firstRun, unlessPresent: true))
            case "never": break
            default: throw TokenizerError.invalidValue(key: "pre_tokenizer.prepend_scheme", reason: "unknown scheme '\(scheme)'")
            }
            if object["split"] as? Bool ?? true {
                steps.append(.splitBefore(marker.value))
            }
            names.append("metaspace")
        default:
            throw TokenizerError.unsupportedPreTokenizer(type)
        }
    }

    private static func escapeInBracket(_ scalar: Unicode.Scalar) -> String {
        "\\[]^-".unicodeScalars.contains(scalar) ? "\\\(scalar)" : String(scalar)
    }

    // MARK: - Decoder

    private struct DecoderInfo {
        var byteLevel = false
        var spaceMarker = false
        var stripsLeadingSpace = false
    }

    private static func decoder(_ value: Any?) -> DecoderInfo {
        var info = DecoderInfo()
        collectDecoder(value, &info)
        return info
    }

    private static func collectDecoder(_ value: Any?, _ info: inout DecoderInfo) {
        guard let object = value as? [String: Any], let type = object["type"] as? String else { return }
        switch type {
        case "Sequence":
            for item in object["decoders"] as? [Any] ?? [] { collectDecoder(item, &info) }
        case "ByteLevel":
            info.byteLevel = true
        case "Metaspace":
            info.spaceMarker = true
            let scheme = object["prepend_scheme"] as? String
                ?? ((object["add_prefix_space"] as? Bool ?? true) ? "always" : "never")
            if scheme != "never" { info.stripsLeadingSpace = true }
        case "Replace":
            if let pattern = object["pattern"] as? [String: Any], pattern["String"] as? String == "\u{2581}" {
                info.spaceMarker = true
            }
        case "Strip":
            if object["content"] as? String == " ", (object["start"] as? Int ?? 0) > 0 { info.stripsLeadingSpace = true }
        default:
            break
        }
    }

    // MARK: - Post-processor

    private static func postProcessor(_ value: Any?, vocabulary: Vocabulary) throws -> ([Int], [Int]) {
        guard let value, !(value is NSNull) else { return ([], []) }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw TokenizerError.invalidValue(key: "post_processor", reason: "expected an object with a type")
        }
        switch type {
        case "Sequence":
            var prefix: [Int] = []
            var suffix: [Int] = []
            for item in object["processors"] as? [Any] ?? [] {
                let (before, after) = try postProcessor(item, vocabulary: vocabulary)
                prefix += before
                suffix += after
            }
            return (prefix, suffix)
        case "ByteLevel":
            return ([], [])
        case "TemplateProcessing":
            guard let single = object["single"] as? [Any] else { throw TokenizerError.missingKey("post_processor.single") }
            let specialTokens = object["special_tokens"] as? [String: Any] ?? [:]
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            for item in single {
                guard let piece = item as? [String: Any] else {
                    throw TokenizerError.invalidValue(key: "post_processor.single", reason: "expected objects")
                }
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                    let ids: [Int]
                    if let entry = specialTokens[name] as? [String: Any], let list = entry["ids"] as? [Any] {
                        ids = try list.map {
                            guard let id = integer($0), id >= 0, id < vocabulary.count else {
                                throw TokenizerError.invalidValue(key: "post_processor.special_tokens[\(name)]", reason: "bad id")
                            }
                            return id
                        }
                    } else if let id = vocabulary.id(of: name) {
                        ids = [id]
                    } else {
                        throw TokenizerError.unknownSpecialToken(name)
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else {
                    throw TokenizerError.invalidValue(key: "post_processor.single", reason: "unknown template piece")
                }
            }
            return (prefix, suffix)
        case "RobertaProcessing", "BertProcessing":
            func token(_ key: String) throws -> Int {
                guard let pair = object[key] as? [Any], pair.count == 2, let id = integer(pair[1]), id >= 0, id < vocabulary.count else {
                    throw TokenizerError.invalidValue(key: "post_processor.\(key)", reason: "expected [token, id]")
                }
                return id
            }
            return ([try token("cls")], [try token("sep")])
        default:
            throw TokenizerError.unsupportedModel("post-processor \(type)")
        }
    }

    // MARK: - tokenizer_config.json

    private static func configToken(_ config: [String: Any]?, _ key: String, _ vocabulary: Vocabulary) throws -> Int? {
        guard let value = config?[key], !(value is NSNull) else { return nil }
        let text: String
        if let string = value as? String {
            text = string
        } else if let object = value as? [String: Any], let content = object["content"] as? String {
            text = content
        } else {
            throw TokenizerError.invalidValue(key: "tokenizer_config.\(key)", reason: "expected a string or {\"content\": …}")
        }
        guard let id = vocabulary.id(of: text) else { throw TokenizerError.unknownSpecialToken(text) }
        return id
    }

    private static func chatTemplate(_ config: [String: Any]?) -> String? {
        guard let value = config?["chat_template"] else { return nil }
        if let template = value as? String { return template }
        if let list = value as? [Any] {  // [{"name": "default", "template": "…"}, …]
            let entries = list.compactMap { $0 as? [String: Any] }
            let chosen = entries.first { $0["name"] as? String == "default" } ?? entries.first
            return chosen?["template"] as? String
        }
        return nil
    }
}
