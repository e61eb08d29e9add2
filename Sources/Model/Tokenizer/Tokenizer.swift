/// Turns text into token ids and back.
///
/// Implementations come from a Hugging Face `tokenizer.json` or from GGUF metadata
/// (`tokenizer.ggml.*`); `TokenizerLoader` picks the right one. Any string can be encoded,
/// so encoding does not throw.
public protocol Tokenizer: Sendable {
    /// Encodes `text`; special tokens written in the text (e.g. `<|im_start|>`) are matched as such.
    /// With `addSpecialTokens`, the model's BOS/EOS conventions are applied (e.g. Llama prepends BOS,
    /// Qwen adds nothing).
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    /// Encodes `text`, choosing whether control tokens written in the text (e.g. `<|im_start|>`) are
    /// matched as single ids (`parseSpecialTokens`) or encoded as ordinary text, which keeps untrusted
    /// text from injecting control tokens. Added tokens that are not control tokens (GGUF "user
    /// defined") are always matched.
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecialTokens: Bool) -> [Int]
    /// Decodes ids to text; invalid UTF-8 is replaced by U+FFFD and unknown ids are ignored.
    /// With `skipSpecialTokens`, special tokens (BOS, EOS, `<|im_end|>`, …) are left out.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// The raw bytes a token stands for (for streaming without splitting UTF-8 characters);
    /// empty for unknown ids.
    func bytes(forToken id: Int) -> [UInt8]
    /// Id of a token given by its exact vocabulary string (e.g. `"<|im_end|>"`).
    func tokenID(for token: String) -> Int?
    /// Whether `id` is a special/control token.
    func isSpecial(_ id: Int) -> Bool
    /// Number of ids the tokenizer can produce.
    var vocabularySize: Int { get }
    /// Beginning-of-sequence token, if the model uses one.
    var bosTokenID: Int? { get }
    /// End-of-sequence token.
    var eosTokenID: Int? { get }
    /// Padding token, if defined.
    var padTokenID: Int? { get }
    /// The model's chat template (Jinja source) when its files carry one.
    var chatTemplate: String? { get }
}

extension Tokenizer {
    /// Default for tokenizers that cannot turn special-token matching off: encodes as
    /// `encode(_:addSpecialTokens:)` does, whatever `parseSpecialTokens` says.
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecialTokens: Bool) -> [Int] {
        encode(text, addSpecialTokens: addSpecialTokens)
    }

    /// Encodes `text` with the model's special-token conventions, matching special tokens written in it.
    public func encode(_ text: String) -> [Int] {
        encode(text, addSpecialTokens: true)
    }

    /// Decodes ids to text, keeping special tokens.
    public func decode(_ ids: [Int]) -> String {
        decode(ids, skipSpecialTokens: false)
    }
}
