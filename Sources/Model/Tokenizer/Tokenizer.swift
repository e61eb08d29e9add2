/// Turns text into token ids and back.
///
/// Implementations come from a Hugging Face `tokenizer.json` or from GGUF metadata
/// (`tokenizer.ggml.*`). Any string can be encoded, so encoding does not throw.
public protocol Tokenizer: Sendable {
    /// Encodes `text`; special tokens written in the text (e.g. `<|im_start|>`) are matched as such.
    /// With `addSpecialTokens`, the model's BOS/EOS conventions are applied.
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    /// Decodes ids to text; invalid UTF-8 is replaced by U+FFFD.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// The raw bytes a token stands for (for streaming without splitting UTF-8 characters).
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
