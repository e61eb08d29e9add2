/// Names and patterns of the pre-tokenizers Tailor knows, as Hugging Face `tokenizer.json` files and
/// llama.cpp's GGUF `tokenizer.ggml.pre` names spell them.
enum KnownPreTokenizers {
    /// GPT-2's regex (Hugging Face `ByteLevel` with `use_regex`).
    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// GPT-2's regex without the final `\s+` (as llama.cpp lists it; same splits).
    static let gpt2RegexShort = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#
    /// Llama-3's regex.
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's regex (Llama-3's with single digits).
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// DeepSeek-LLM's split patterns, applied in order.
    static let deepseekLLMPatterns = [
        #"[\r\n]"#,
        #"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\#u{1F7D}ᾀ-ᾴᾶ-ᾼ\#u{1FBE}ῂ-ῄῆ-ῌῐ-\#u{1FD3}ῖ-\#u{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\#u{2126}ℨ\#u{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+"#,
        #"\s?[!-/:-~！-／：-～‘-‟　-。]+"#,
        #"\s+$"#,
        #"[一-龥ࠀ-一가-퟿]+"#,
        #"\p{N}+"#,
    ]
    /// DeepSeek-Coder's split patterns, applied in order.
    static let deepseekCoderPatterns = [
        #"[\r\n]"#,
        #"\s?\p{L}+"#,
        #"\s?\p{P}+"#,
        #"[一-龥ࠀ-一가-퟿]+"#,
        #"\p{N}"#,
    ]
    /// Falcon's split patterns (the middle one is GPT-2's regex).
    static let falconPatterns = [#"[\p{P}\$\+<=>\^~\|`]+"#, gpt2RegexShort, #"[0-9][0-9][0-9]"#]
    /// llama.cpp's fallback for BPE vocabularies without a pre-tokenizer name.
    static let defaultPatterns = [#"[\p{P}\$\+<=>\^~\|]+"#, gpt2RegexShort, #"\p{N}+"#, #"[0-9][0-9][0-9]"#]

    /// The pre-tokenizer for a llama.cpp `tokenizer.ggml.pre` name (`nil` or empty: llama.cpp's default).
    static func forGGUF(name: String?) throws -> PreTokenizer {
        guard let name, !name.isEmpty else { return try patterns("default", defaultPatterns) }
        switch name {
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "jina-v1-en", "jina-v2-code",
             "roberta-bpe":
            return PreTokenizer(name: name, steps: [.gpt2])
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
             "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", "glm5":
            return PreTokenizer(name: name, steps: [.llama3(maxDigits: 3)])
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2":
            return PreTokenizer(name: name, steps: [.llama3(maxDigits: 1)])
        case "deepseek-llm":
            return try patterns(name, deepseekLLMPatterns)
        case "deepseek-coder":
            return try patterns(name, deepseekCoderPatterns)
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva":
            return PreTokenizer(name: name, steps: [.digits(individual: true), .gpt2])
        case "falcon":
            return try patterns(name, falconPatterns)
        case "default":
            return try patterns(name, defaultPatterns)
        default:
            throw TokenizerError.unsupportedPreTokenizer(name)
        }
    }

    /// What llama.cpp does for a BPE vocabulary with this `tokenizer.ggml.pre` name beyond splitting.
    struct GGUFConventions {
        /// Use a whole pre-token when it is in the vocabulary (`ignore_merges`).
        var ignoreMerges = false
        /// Add BOS by default when `tokenizer.ggml.add_bos_token` is absent.
        var addsBOS = false
    }

    /// llama.cpp's per-name defaults for BPE vocabularies.
    static func ggufConventions(name: String?) -> GGUFConventions {
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            return GGUFConventions(ignoreMerges: true, addsBOS: true)
        case "glm4", "glm5":
            return GGUFConventions(ignoreMerges: true, addsBOS: false)
        default:
            return GGUFConventions()
        }
    }

    /// The step for a `Split` regex: one of the hand-written scanners when the regex is a known one,
    /// else a compiled `SplitPattern` (throws when outside the supported subset).
    static func step(forRegex regex: String) throws -> PreTokenizer.Step {
        if regex.unicodeScalars.elementsEqual(gpt2Regex.unicodeScalars)
            || regex.unicodeScalars.elementsEqual(gpt2RegexShort.unicodeScalars) { return .gpt2 }
        if regex.unicodeScalars.elementsEqual(llama3Regex.unicodeScalars) { return .llama3(maxDigits: 3) }
        if regex.unicodeScalars.elementsEqual(qwen2Regex.unicodeScalars) { return .llama3(maxDigits: 1) }
        return .pattern(try SplitPattern(regex))
    }

    private static func patterns(_ name: String, _ regexes: [String]) throws -> PreTokenizer {
        PreTokenizer(name: name, steps: try regexes.map(step(forRegex:)))
    }
}
