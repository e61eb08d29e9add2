import Tensor

/// Learned virtual positions that a model puts before every sequence: the slot prompt tuning
/// (input embeddings) and prefix tuning (per-layer keys and values) fill, named `prompt_encoder`
/// as in PEFT.
///
/// The model asks for the prefix once per sequence: on every pass without a cache, and on the
/// first pass into an empty cache, after which the prefix lives in the cache.
public protocol SequencePrefix: Module {
    /// The prefix for a pass over `batch` rows under the current ``AdapterRouting/selection``, or
    /// nil when none applies. Throws when the routing asks for something the prefix cannot give
    /// (e.g. different prefixes in one batch).
    func resolve(batch: Int, model: ModelDescription) throws -> ResolvedPrefix?
}

/// The virtual positions of one forward pass.
public struct ResolvedPrefix {
    /// What the prefix adds.
    public enum Content {
        /// Input embeddings [B, P, C] placed before the token embeddings.
        case embeddings(Tensor)
        /// Per decoder layer, keys and values [B, P, G, D] placed before the tokens' own.
        case keyValues([(keys: Tensor, values: Tensor)])
    }

    /// Number of virtual positions P.
    public var length: Int
    /// The tensors.
    public var content: Content

    /// A prefix of `length` positions.
    public init(length: Int, content: Content) {
        self.length = length
        self.content = content
    }
}
