/// Why a tokenizer could not be loaded.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A file or folder could not be read.
    case unreadableFile(path: String, reason: String)
    /// A folder holds neither `tokenizer.json` nor a `.gguf` file.
    case noTokenizerFound(folder: String)
    /// The text is not valid JSON, or its top level is not an object.
    case malformedJSON(file: String, reason: String)
    /// A required key is missing (e.g. `model.vocab`, `tokenizer.ggml.tokens`).
    case missingKey(String)
    /// A key holds a value of the wrong kind or out of range.
    case invalidValue(key: String, reason: String)
    /// The tokenizer model type is not supported (e.g. `Unigram`, `WordPiece`, GGUF `t5`).
    case unsupportedModel(String)
    /// The pre-tokenizer (or GGUF `tokenizer.ggml.pre` name) is not supported.
    case unsupportedPreTokenizer(String)
    /// The normalizer is not supported.
    case unsupportedNormalizer(String)
    /// A split pattern is outside the regular-expression subset Tailor implements.
    case unsupportedPattern(String)
    /// A merge rule names a token that is not in the vocabulary.
    case mergeTokenNotInVocabulary(String)
    /// A special token named by the configuration is not in the vocabulary.
    case unknownSpecialToken(String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read \(path): \(reason)"
        case let .noTokenizerFound(folder): return "no tokenizer.json or .gguf file in \(folder)"
        case let .malformedJSON(file, reason): return "malformed JSON in \(file): \(reason)"
        case let .missingKey(key): return "missing tokenizer key '\(key)'"
        case let .invalidValue(key, reason): return "invalid value for '\(key)': \(reason)"
        case let .unsupportedModel(name): return "unsupported tokenizer model '\(name)'"
        case let .unsupportedPreTokenizer(name): return "unsupported pre-tokenizer '\(name)'"
        case let .unsupportedNormalizer(name): return "unsupported normalizer '\(name)'"
        case let .unsupportedPattern(pattern): return "unsupported split pattern '\(pattern)'"
        case let .mergeTokenNotInVocabulary(token): return "merge uses token '\(token)' that is not in the vocabulary"
        case let .unknownSpecialToken(token): return "special token '\(token)' is not in the vocabulary"
        }
    }
}
