/// A JSON value written the way Python's `json.dump(indent=2, sort_keys=True)` writes it — in
/// particular, floating-point numbers keep their fraction (`1.0`), which AdapterHub relies on
/// (it tells a constant `scaling` from other settings by its Python type).
public indirect enum AdapterHubJSON: Sendable, Equatable, Encodable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// An integer, written without a fraction.
    case int(Int)
    /// A float, always written with a fraction or exponent (`1.0`, `1e-05`).
    case double(Double)
    /// A string, escaped as Python's `ensure_ascii` does.
    case string(String)
    /// A list.
    case array([AdapterHubJSON])
    /// An object, written with its keys sorted.
    case object([String: AdapterHubJSON])

    /// The text, two-space indented, keys sorted, ending without a newline.
    public func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 2), close = String(repeating: " ", count: indent)
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? "\(d)" : "null"
        case .string(let s): return Self.quoted(s)
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { pad + $0.rendered(indent: indent + 2) }.joined(separator: ",\n") + "\n" + close + "]"
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            let lines = members.keys.sorted().map { pad + Self.quoted($0) + ": " + members[$0]!.rendered(indent: indent + 2) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + close + "}"
        }
    }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value > 0x7E:
                // Python's default ensure_ascii: \uXXXX, surrogate pairs above the BMP.
                for unit in String(u).utf16 { out += "\\u" + String(repeating: "0", count: 4 - String(unit, radix: 16).count) + String(unit, radix: 16) }
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let items): try c.encode(items)
        case .object(let members): try c.encode(members)
        }
    }
}
