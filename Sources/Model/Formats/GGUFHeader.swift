import Quant

/// The parsed header of a GGUF file: metadata, tensor descriptions and data-section placement.
/// Every length is checked against the file size and a sanity limit before anything is allocated.
struct GGUFHeader {
    var version: UInt32 = 0
    var metadataKeys: [String] = []
    var metadata: [String: GGUFValue] = [:]
    var tensors: [GGUFTensorInfo] = []
    var alignment = 32
    var dataOffset = 0

    /// Sanity limits for lengths read from the header.
    enum Limit {
        static let tensorCount = 1 << 24
        static let metadataCount = 1 << 24
        static let keyLength = 1 << 16
        static let stringLength = 1 << 26
        static let arrayCount = 1 << 26
        static let arrayDepth = 8
        static let tensorNameLength = 1 << 16
        static let dimensions = 4
        static let alignment = 1 << 20
    }

    static let magic: [UInt8] = Array("GGUF".utf8)

    init(parsing bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        var reader = ByteReader(bytes)
        try reader.require(4)
        let found = (0..<4).map { bytes[$0] }
        guard found == Self.magic else { throw .badMagic(found: found) }
        _ = try reader.read(UInt32.self)
        version = try reader.read(UInt32.self)
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }

        let tensorCount = try reader.readLength("tensor count", limit: Limit.tensorCount)
        let valueCount = try reader.readLength("metadata count", limit: Limit.metadataCount)
        // Each tensor description takes at least 24 bytes and each key/value pair at least 13;
        // larger counts cannot fit in the file (checked before reserving memory for them).
        try reader.require(tensorCount * 24 + valueCount * 13)

        metadataKeys.reserveCapacity(valueCount)
        for _ in 0..<valueCount {
            let key = try reader.readString(maxLength: Limit.keyLength)
            let typeID = try reader.read(UInt32.self)
            let value = try Self.readValue(typeID: typeID, key: key, depth: 0, from: &reader)
            guard metadata.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key) }
            metadataKeys.append(key)
        }

        if let value = metadata["general.alignment"] {
            guard let a = value.int else { throw .invalidAlignment("value \(value) is not an integer") }
            guard a > 0, a <= Limit.alignment, a & (a - 1) == 0 else {
                throw .invalidAlignment("\(a) is not a power of two in 1...\(Limit.alignment)")
            }
            alignment = a
        }

        var names = Set<String>()
        tensors.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let info = try Self.readTensorInfo(from: &reader)
            guard names.insert(info.name).inserted else { throw .duplicateTensor(info.name) }
            tensors.append(info)
        }

        let headerEnd = reader.offset
        dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        let available = bytes.count - dataOffset
        if !tensors.isEmpty && available < 0 {
            throw .truncated(offset: headerEnd, needed: dataOffset - headerEnd)
        }
        for info in tensors {
            let end = info.offset.addingReportingOverflow(info.byteCount)
            guard info.offset % alignment == 0, !end.overflow, end.partialValue <= available else {
                throw .tensorOutOfRange(tensor: info.name, offset: UInt64(info.offset),
                                        length: UInt64(info.byteCount), available: UInt64(max(0, available)))
            }
        }
    }

    private static func readTensorInfo(from reader: inout ByteReader) throws(GGUFError) -> GGUFTensorInfo {
        let name = try reader.readString(maxLength: Limit.tensorNameLength)
        let rank = try reader.read(UInt32.self)
        guard rank >= 1, rank <= UInt32(Limit.dimensions) else {
            throw .invalidTensorInfo(tensor: name, reason: "has \(rank) dimensions (allowed: 1...\(Limit.dimensions))")
        }
        var dimensions: [Int] = []
        var count = 1
        for _ in 0..<rank {
            let raw = try reader.read(UInt64.self)
            guard let extent = Int(exactly: raw) else {
                throw .invalidTensorInfo(tensor: name, reason: "dimension \(raw) is too large")
            }
            let product = count.multipliedReportingOverflow(by: extent)
            guard !product.overflow else {
                throw .invalidTensorInfo(tensor: name, reason: "element count overflows")
            }
            count = product.partialValue
            dimensions.append(extent)
        }
        let typeID = try reader.read(UInt32.self)
        guard let type = GGMLType(rawValue: typeID) else { throw .unknownTensorType(tensor: name, typeID: typeID) }
        guard dimensions[0] % type.blockSize == 0, let byteCount = type.byteCount(forValues: count) else {
            throw .invalidTensorInfo(tensor: name, reason: "innermost dimension \(dimensions[0]) is not a "
                                     + "multiple of the \(type.name) block size \(type.blockSize)")
        }
        let rawOffset = try reader.read(UInt64.self)
        guard let offset = Int(exactly: rawOffset) else {
            throw .tensorOutOfRange(tensor: name, offset: rawOffset, length: UInt64(byteCount), available: 0)
        }
        return GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset, byteCount: byteCount)
    }

    /// Minimum encoded size of one value of a type, used to bound array counts by the file size.
    private static func minimumSize(ofType typeID: UInt32) -> Int? {
        switch typeID {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8: return 8
        case 9: return 12
        case 10, 11, 12: return 8
        default: return nil
        }
    }

    private static func readValue(typeID: UInt32, key: String, depth: Int,
                                  from reader: inout ByteReader) throws(GGUFError) -> GGUFValue {
        switch typeID {
        case 0: return .uint8(try reader.read(UInt8.self))
        case 1: return .int8(try reader.read(Int8.self))
        case 2: return .uint16(try reader.read(UInt16.self))
        case 3: return .int16(try reader.read(Int16.self))
        case 4: return .uint32(try reader.read(UInt32.self))
        case 5: return .int32(try reader.read(Int32.self))
        case 6: return .float32(try reader.readFloat())
        case 7: return .bool(try reader.read(UInt8.self) != 0)
        case 8: return .string(try reader.readString(maxLength: Limit.stringLength))
        case 10: return .uint64(try reader.read(UInt64.self))
        case 11: return .int64(try reader.read(Int64.self))
        case 12: return .float64(try reader.readDouble())
        case 9:
            guard depth < Limit.arrayDepth else {
                throw .lengthTooLarge(what: "array nesting depth", length: UInt64(depth + 1),
                                      limit: UInt64(Limit.arrayDepth))
            }
            let elementType = try reader.read(UInt32.self)
            guard let elementSize = minimumSize(ofType: elementType) else {
                throw .unknownValueType(key: key, typeID: elementType)
            }
            let countStart = reader.offset
            let count = try reader.readLength("array length", limit: Limit.arrayCount)
            guard count <= reader.remaining / elementSize else {
                throw .truncated(offset: countStart + 8, needed: count * elementSize)
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count {
                items.append(try readValue(typeID: elementType, key: key, depth: depth + 1, from: &reader))
            }
            return .array(items)
        default:
            throw .unknownValueType(key: key, typeID: typeID)
        }
    }
}
