import Quant

/// Where and how one tensor is stored in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name in the file (GGUF naming, e.g. `blk.0.attn_q.weight`).
    public let name: String
    /// Extents as GGUF lists them: innermost (fastest-varying) first.
    public let dimensions: [Int]
    /// Element type.
    public let type: GGMLType
    /// Byte offset of the data, relative to the start of the file's data section.
    public let offset: Int
    /// Number of bytes the data occupies.
    public let byteCount: Int

    /// Extents in row-major (PyTorch) order, outermost first: the reverse of `dimensions`.
    public var shape: [Int] { dimensions.reversed() }

    /// Number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }
}
