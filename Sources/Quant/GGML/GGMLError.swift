/// Why ggml-encoded data could not be decoded or encoded.
public enum GGMLError: Error, Equatable, CustomStringConvertible {
    /// The value count is negative or not a whole number of blocks.
    case countNotBlockMultiple(type: GGMLType, count: Int)
    /// The buffer holds fewer bytes than `count` values need.
    case bufferTooSmall(type: GGMLType, needed: Int, available: Int)
    /// Tailor has no encoder for this type (see ``GGMLType/isEncodable``).
    case notEncodable(GGMLType)

    /// A readable explanation of the problem.
    public var description: String {
        switch self {
        case .countNotBlockMultiple(let type, let count):
            return "\(count) values are not a whole number of \(type.name) blocks of \(type.blockSize)"
        case .bufferTooSmall(let type, let needed, let available):
            return "\(type.name) data needs \(needed) bytes, buffer holds \(available)"
        case .notEncodable(let type):
            return "Tailor cannot encode \(type.name) (encodable: "
                + GGMLType.allCases.filter(\.isEncodable).map(\.name).joined(separator: ", ") + ")"
        }
    }
}
