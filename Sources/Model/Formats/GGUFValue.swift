/// One GGUF metadata value, tagged with its on-disk type.
///
/// The accessors convert between compatible types (any integer case answers `int` when the value
/// fits), so callers rarely need to switch over the cases.
public enum GGUFValue: Sendable, Equatable {
    /// GGUF type 0.
    case uint8(UInt8)
    /// GGUF type 1.
    case int8(Int8)
    /// GGUF type 2.
    case uint16(UInt16)
    /// GGUF type 3.
    case int16(Int16)
    /// GGUF type 4.
    case uint32(UInt32)
    /// GGUF type 5.
    case int32(Int32)
    /// GGUF type 6.
    case float32(Float)
    /// GGUF type 7.
    case bool(Bool)
    /// GGUF type 8 (UTF-8).
    case string(String)
    /// GGUF type 9: an array; GGUF arrays are homogeneous, and may nest.
    case array([GGUFValue])
    /// GGUF type 10.
    case uint64(UInt64)
    /// GGUF type 11.
    case int64(Int64)
    /// GGUF type 12.
    case float64(Double)

    /// The value of an integer case, when it fits in `Int`.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value of a floating-point or integer case as a `Double`.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    /// The value of a floating-point or integer case as a `Float`.
    public var float: Float? { double.map(Float.init) }

    /// The value of a `bool` case.
    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// The value of a `string` case.
    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    /// The elements of an `array` case.
    public var array: [GGUFValue]? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// The elements of an array of strings.
    public var stringArray: [String]? { mapArray(\.string) }

    /// The elements of an array of integers.
    public var intArray: [Int]? { mapArray(\.int) }

    /// The elements of an array of numbers, as `Float`.
    public var floatArray: [Float]? { mapArray(\.float) }

    private func mapArray<T>(_ element: (GGUFValue) -> T?) -> [T]? {
        guard case .array(let items) = self else { return nil }
        var result: [T] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let value = element(item) else { return nil }
            result.append(value)
        }
        return result
    }
}

extension GGUFValue: CustomStringConvertible {
    /// The value as it would be written in source.
    public var description: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .array(let items):
            let shown = items.prefix(8).map(\.description).joined(separator: ", ")
            return "[\(shown)\(items.count > 8 ? ", … (\(items.count) items)" : "")]"
        }
    }
}
