import Foundation
import Tensor

/// The tokenizer (`tokenizer.*`) and descriptive (`general.*`) GGUF keys of an exported model,
/// taken from where the model was loaded.
enum GGUFTokenizerMetadata {
    /// `general.*` keys the exporter writes itself and never carries over.
    static let ownGeneralKeys: Set<String> = ["general.architecture", "general.type", "general.file_type",
                                              "general.quantization_version", "general.alignment"]

    /// Keys for a model of `vocabularySize` tokens loaded from `source`:
    /// - a `.gguf` file: its `tokenizer.*` keys and descriptive `general.*` keys, as they are;
    /// - a Hugging Face folder with a byte-level BPE `tokenizer.json`: `tokenizer.ggml.model = gpt2`,
    ///   tokens, token types, merges, the llama.cpp pre-tokenizer name (`gpt-2`, `llama-bpe` or
    ///   `qwen2`), BOS/EOS/padding ids, whether BOS/EOS are added, and the chat template; ids the
    ///   tokenizer leaves unused up to `vocabularySize` become `[PAD<id>]` tokens of the unused type;
    /// - no source, or a folder without `tokenizer.json`: `tokenizer.ggml.model = none` (llama.cpp
    ///   then sizes the vocabulary from `<arch>.vocab_size`).
    /// - Throws: ``GGUFExportError/unsupportedTokenizer(_:)`` for another tokenizer kind, or
    ///   tokenizer loading errors.
    static func keys(from source: URL?, vocabularySize: Int) throws -> [(String, GGUFValue)] {
        guard let source else { return [("tokenizer.ggml.model", .string("none"))] }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw ModelLoadError.missingFile(source.path)
        }
        if !isDirectory.boolValue {
            let file = try GGUFFile(contentsOf: source)
            return file.metadataKeys.compactMap { key in
                let carried = key.hasPrefix("tokenizer.") || (key.hasPrefix("general.") && !ownGeneralKeys.contains(key))
                return carried ? file.metadata[key].map { (key, $0) } : nil
            }
        }
        let json = source.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: json.path) else { return [("tokenizer.ggml.model", .string("none"))] }
        return try folderKeys(tokenizerJSON: json, vocabularySize: vocabularySize)
    }

    private static func folderKeys(tokenizerJSON url: URL, vocabularySize: Int) throws -> [(String, GGUFValue)] {
        let tokenizer = try TokenizerLoader.loadTokenizerJSON(url)
        guard case .bpe(let bpe) = tokenizer.model, bpe.byteLevel else {
            throw GGUFExportError.unsupportedTokenizer("only byte-level BPE tokenizer.json files are converted (this one: \(tokenizer.summary))")
        }
        let pre: String
        switch tokenizer.preTokenizer?.name ?? "none" {
        case "gpt2": pre = "gpt-2"
        case "llama3": pre = "llama-bpe"
        case "qwen2": pre = "qwen2"
        case let other: throw GGUFExportError.unsupportedTokenizer("pre-tokenizer '\(other)' has no llama.cpp name")
        }
        let texts = tokenizer.vocabulary.texts, kinds = tokenizer.vocabulary.kinds
        guard texts.count <= vocabularySize else {
            throw GGUFExportError.unsupportedTokenizer("the tokenizer has \(texts.count) tokens but the model only \(vocabularySize)")
        }
        var tokens: [GGUFValue] = [], types: [GGUFValue] = []
        tokens.reserveCapacity(vocabularySize)
        types.reserveCapacity(vocabularySize)
        for id in 0..<vocabularySize {
            let unused = id >= texts.count || kinds[id] == .unused
            tokens.append(.string(unused ? "[PAD\(id)]" : texts[id]))
            types.append(.int32(Int32(unused ? TokenKind.unused.rawValue : kinds[id].rawValue)))
        }
        var keys: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .array(tokens)), ("tokenizer.ggml.token_type", .array(types)),
            ("tokenizer.ggml.merges", .array(try mergeLines(url).map { .string($0) })),
        ]
        if let bos = tokenizer.bosTokenID { keys.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos = tokenizer.eosTokenID { keys.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        if let pad = tokenizer.padTokenID { keys.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad)))) }
        keys.append(("tokenizer.ggml.add_bos_token", .bool(tokenizer.bosTokenID.map { tokenizer.prefixIDs.contains($0) } ?? false)))
        keys.append(("tokenizer.ggml.add_eos_token", .bool(tokenizer.eosTokenID.map { tokenizer.suffixIDs.contains($0) } ?? false)))
        if let template = tokenizer.chatTemplate { keys.append(("tokenizer.chat_template", .string(template))) }
        return keys
    }

    /// The `model.merges` of a `tokenizer.json` as "left right" lines (the list form `["a", "b"]` joined).
    private static func mergeLines(_ url: URL) throws -> [String] {
        let root = try HuggingFaceTokenizerLoader.parseObject(try FileBytes.read(url), fileName: url.lastPathComponent)
        guard let model = root["model"] as? [String: Any], let merges = model["merges"] as? [Any] else {
            throw TokenizerError.missingKey("model.merges")
        }
        return try merges.enumerated().map { index, item in
            if let line = item as? String { return line }
            if let pair = item as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                return left + " " + right
            }
            throw TokenizerError.invalidValue(key: "model.merges[\(index)]", reason: "expected \"a b\" or [\"a\", \"b\"]")
        }
    }
}
