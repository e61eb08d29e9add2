/// Which weights of a block-quantized file (GGUF) stay in their stored format when a model is
/// loaded, instead of being expanded to Float32. Weights kept this way are frozen.
public struct QuantizedStorage: OptionSet, Sendable, Hashable {
    public let rawValue: Int

    /// Creates a set from its raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The token embedding table, when it is only looked up (the model has a separate output
    /// head). A lookup decodes whole rows, so the model computes exactly what it computes with
    /// the Float32 table, in a fraction of the memory (the default model: 519 MiB as Float32).
    /// A table that also serves as the tied output head is kept only together with ``linears``.
    public static let lookupEmbeddings = QuantizedStorage(rawValue: 1 << 0)
    /// The linear layers and the output head: products run on the blocks (``QuantizedLinear``,
    /// ``QuantizedEmbedding``), agreeing with the Float32 model up to rounding.
    public static let linears = QuantizedStorage(rawValue: 1 << 1)
    /// Every weight the file stores in a block format.
    public static let all: QuantizedStorage = [.lookupEmbeddings, .linears]
}
