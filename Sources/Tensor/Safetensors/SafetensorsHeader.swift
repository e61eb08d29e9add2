import Foundation

/// Where one tensor of a safetensors file is stored.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name.
    public let name: String
    /// Element type.
    public let dtype: SafetensorsDType
    /// Extents, outermost first (row-major).
    public let shape: [Int]
    /// Byte range relative to the start of the data section.
    public let dataRange: Range<Int>
}

/// The validated JSON header of a safetensors file.
struct SafetensorsHeader {
    /// Tensors in data order.
    let tensors: [SafetensorsTensorInfo]
    let metadata: [String: String]
    /// Absolute offset of the data section.
    let dataOffset: Int

    /// Largest header accepted (real headers are well under a megabyte).
    static let maximumHeaderLength = 100 << 20

    init(parsing bytes: UnsafeRawBufferPointer) throws(SafetensorsError) {
        guard bytes.count >= 8 else { throw .truncated(needed: 8, available: bytes.count) }
        let length = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(length: length, limit: Self.maximumHeaderLength)
        }
        guard 8 + Int(length) <= bytes.count else { throw .truncated(needed: 8 + length, available: bytes.count) }
        dataOffset = 8 + Int(length)
        let json = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<dataOffset]))
        guard String(data: json, encoding: .utf8) != nil else { throw .invalidHeader("not valid UTF-8") }

        let decoded: RawHeader
        do {
            decoded = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch let error as SafetensorsError {
            throw error
        } catch {
            throw .invalidHeader("not a JSON object of tensor entries (\(Self.summary(of: error)))")
        }
        metadata = decoded.metadata
        let dataSize = bytes.count - dataOffset
        var tensors: [SafetensorsTensorInfo] = []
        tensors.reserveCapacity(decoded.entries.count)
        for (name, entry) in decoded.entries {
            tensors.append(try Self.validate(name: name, entry: entry, dataSize: dataSize))
        }
        tensors.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name) < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name) }
        var expectedStart = 0
        for info in tensors {
            guard info.dataRange.lowerBound == expectedStart else {
                throw .invalidLayout(info.dataRange.lowerBound < expectedStart
                    ? "tensor \"\(info.name)\" overlaps the previous tensor"
                    : "hole of \(info.dataRange.lowerBound - expectedStart) bytes before tensor \"\(info.name)\"")
            }
            expectedStart = info.dataRange.upperBound
        }
        guard expectedStart == dataSize else {
            throw .invalidLayout("tensors cover \(expectedStart) bytes but the data section has \(dataSize)")
        }
        self.tensors = tensors
    }

    private static func validate(name: String, entry: RawEntry, dataSize: Int) throws(SafetensorsError) -> SafetensorsTensorInfo {
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
            throw .unknownDType(tensor: name, dtype: entry.dtype)
        }
        guard entry.dataOffsets.count == 2 else {
            throw .invalidTensor(tensor: name, reason: "data_offsets must hold two numbers")
        }
        let begin = entry.dataOffsets[0], end = entry.dataOffsets[1]
        guard begin <= end, end <= UInt64(dataSize) else {
            throw .invalidTensor(tensor: name, reason: "data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
        }
        var count = 1
        var shape: [Int] = []
        for extent in entry.shape {
            guard let e = Int(exactly: extent) else { throw .invalidTensor(tensor: name, reason: "dimension \(extent) too large") }
            let product = count.multipliedReportingOverflow(by: e)
            guard !product.overflow else { throw .invalidTensor(tensor: name, reason: "element count overflows") }
            count = product.partialValue
            shape.append(e)
        }
        let bytes = count.multipliedReportingOverflow(by: dtype.size)
        guard !bytes.overflow, UInt64(bytes.partialValue) == end - begin else {
            throw .invalidTensor(tensor: name, reason: "shape \(shape) of \(dtype.rawValue) needs "
                                 + "\(bytes.overflow ? "too many" : String(bytes.partialValue)) bytes, data_offsets span \(end - begin)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataRange: Int(begin)..<Int(end))
    }

    private static func summary(of error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c): return c.debugDescription
            case .keyNotFound(let key, let c): return "missing \"\(key.stringValue)\" at \(path(c))"
            case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(c.debugDescription) at \(path(c))"
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }
}

/// One tensor entry as it appears in the JSON.
private struct RawEntry: Decodable {
    let dtype: String
    let shape: [UInt64]
    let dataOffsets: [UInt64]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

/// The header object: tensor entries plus the optional `__metadata__` string map.
private struct RawHeader: Decodable {
    var entries: [(String, RawEntry)] = []
    var metadata: [String: String] = [:]

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
            }
        }
    }
}
