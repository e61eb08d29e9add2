import Foundation
import Quant
import Tensor

/// Builds and writes a GGUF (version 3) file: metadata key/value pairs in the order they were set,
/// then tensor descriptions and tensor data in the order they were added, every tensor starting at
/// a multiple of ``alignment`` bytes (recorded as `general.alignment` when it is not the default 32).
///
/// Tensors are held as Float32 ``Tensor``s (row-major, outermost dimension first, as PyTorch
/// orders them) and encoded to their GGUF type while the file is written, a bounded run of rows at
/// a time. The file is written next to its destination and renamed into place.
public struct GGUFWriter {
    /// One tensor to write.
    public struct Entry {
        /// Name in the file, e.g. `blk.0.attn_q.weight`.
        public let name: String
        /// Float32 values, row-major; the file lists the extents innermost first.
        public let values: Tensor
        /// Type the values are encoded to.
        public let type: GGMLType
    }

    /// Metadata in file order.
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    /// Tensors in file order.
    public private(set) var tensors: [Entry] = []
    /// Alignment of the data section and of every tensor in it (a power of two).
    public var alignment = 32

    private var keyIndex: [String: Int] = [:]
    private var tensorNames: Set<String> = []

    /// An empty file.
    public init() {}

    /// The value stored under `key`, if any.
    public subscript(key: String) -> GGUFValue? {
        keyIndex[key].map { metadata[$0].value }
    }

    /// Sets `key` to `value`; a key that is already present keeps its position.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = keyIndex[key] {
            metadata[index].value = value
        } else {
            keyIndex[key] = metadata.count
            metadata.append((key, value))
        }
    }

    /// Removes `key` if present.
    public mutating func remove(_ key: String) {
        guard let index = keyIndex.removeValue(forKey: key) else { return }
        metadata.remove(at: index)
        for (k, i) in keyIndex where i > index { keyIndex[k] = i - 1 }
    }

    /// Adds tensor `name` holding `values`, to be stored as `type`.
    /// - Throws: ``GGUFExportError/invalidTensor(name:reason:)`` for a repeated or empty name, a
    ///   tensor of rank 0 or above 4, an innermost extent that is not a whole number of `type`
    ///   blocks, or a type Tailor cannot encode.
    public mutating func add(_ name: String, _ values: Tensor, as type: GGMLType) throws {
        guard !name.isEmpty, !tensorNames.contains(name) else {
            throw GGUFExportError.invalidTensor(name: name, reason: name.isEmpty ? "empty name" : "added twice")
        }
        guard (1...4).contains(values.rank) else {
            throw GGUFExportError.invalidTensor(name: name, reason: "rank \(values.rank) (GGUF allows 1 to 4 dimensions)")
        }
        guard type.isEncodable else { throw GGUFExportError.invalidTensor(name: name, reason: "\(GGMLError.notEncodable(type))") }
        guard let inner = values.shape.last, inner % type.blockSize == 0 else {
            throw GGUFExportError.invalidTensor(name: name, reason: "innermost extent \(values.shape.last ?? 0) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        tensorNames.insert(name)
        tensors.append(Entry(name: name, values: values, type: type))
    }

    /// Writes the file to `url` atomically.
    /// - Throws: ``GGUFExportError/cannotWrite(path:reason:)`` on I/O failure,
    ///   ``GGUFExportError/invalidMetadata(key:reason:)`` for an array mixing element types.
    public func write(to url: URL) throws {
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw GGUFExportError.invalidMetadata(key: "general.alignment", reason: "\(alignment) is not a power of two")
        }
        var copy = self
        if alignment != 32 { copy.set("general.alignment", .uint32(UInt32(alignment))) }
        var header = ByteSink()
        header.append(Array("GGUF".utf8))
        header.append(UInt32(3))
        header.append(UInt64(copy.tensors.count))
        header.append(UInt64(copy.metadata.count))
        for (key, value) in copy.metadata {
            header.append(string: key)
            try header.append(value: value, key: key)
        }
        var offset = 0
        for entry in copy.tensors {
            header.append(string: entry.name)
            header.append(UInt32(entry.values.rank))
            for extent in entry.values.shape.reversed() { header.append(UInt64(extent)) }
            header.append(entry.type.rawValue)
            header.append(UInt64(offset))
            offset += Self.padded(entry.type.byteCount(forValues: entry.values.count) ?? 0, to: alignment)
        }
        header.pad(to: alignment)

        do {
            let file = try AtomicFile(destination: url)
            do {
                try header.bytes.withUnsafeBytes { try file.write($0) }
                for entry in copy.tensors { try Self.writeData(of: entry, to: file, alignment: alignment) }
                try file.commit()
            } catch {
                file.abandon()
                throw error
            }
        } catch let failure as AtomicFile.Failure {
            throw GGUFExportError.cannotWrite(path: failure.path, reason: failure.reason)
        }
    }

    static func padded(_ count: Int, to alignment: Int) -> Int { (count + alignment - 1) / alignment * alignment }

    /// Encodes one tensor a run of whole rows at a time, then pads it to the alignment.
    private static func writeData(of entry: Entry, to file: AtomicFile, alignment: Int) throws {
        let rowLength = entry.values.shape.last ?? 1
        let rowBytes = entry.type.byteCount(forValues: rowLength) ?? 0
        let rowsPerRun = max(1, (1 << 20) / max(rowLength, 1))
        let rows = entry.values.count / max(rowLength, 1)
        var buffer = [UInt8](repeating: 0, count: min(rows, rowsPerRun) * rowBytes)
        try entry.values.withUnsafeBufferPointer { values in
            var row = 0
            while row < rows {
                let n = min(rowsPerRun, rows - row)
                let run = UnsafeBufferPointer(rebasing: values[(row * rowLength)..<((row + n) * rowLength)])
                try buffer.withUnsafeMutableBytes { out in
                    let slice = UnsafeMutableRawBufferPointer(rebasing: out[0..<(n * rowBytes)])
                    try entry.type.quantize(run, into: slice)
                    try file.write(UnsafeRawBufferPointer(slice))
                }
                row += n
            }
        }
        let total = rows * rowBytes
        let padding = padded(total, to: alignment) - total
        if padding > 0 { try [UInt8](repeating: 0, count: padding).withUnsafeBytes { try file.write($0) } }
    }
}

/// Little-endian encoding of GGUF header fields.
private struct ByteSink {
    var bytes: [UInt8] = []

    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(string: String) {
        let utf8 = Array(string.utf8)
        append(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func pad(to alignment: Int) {
        bytes.append(contentsOf: [UInt8](repeating: 0, count: GGUFWriter.padded(bytes.count, to: alignment) - bytes.count))
    }

    mutating func append(value: GGUFValue, key: String) throws {
        append(value.typeID)
        try appendPayload(value, key: key)
    }

    private mutating func appendPayload(_ value: GGUFValue, key: String) throws {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let v): append(string: v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float64(let v): append(v.bitPattern)
        case .array(let items):
            let elementType = items.first?.typeID ?? GGUFValue.string("").typeID
            guard items.allSatisfy({ $0.typeID == elementType }) else {
                throw GGUFExportError.invalidMetadata(key: key, reason: "array elements of different types")
            }
            append(elementType)
            append(UInt64(items.count))
            for item in items { try appendPayload(item, key: key) }
        }
    }
}

extension GGUFValue {
    /// The GGUF value type id of this case.
    var typeID: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }
}
