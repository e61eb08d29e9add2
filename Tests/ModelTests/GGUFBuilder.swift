import Foundation

/// Writes GGUF bytes field by field, so tests can build files with exactly one thing wrong.
struct GGUFBuilder {
    var magic = Array("GGUF".utf8)
    var version: UInt32 = 3
    /// Pre-encoded key/value pairs.
    var metadata: [Data] = []
    /// Pre-encoded tensor descriptions.
    var tensorInfos: [Data] = []
    var tensorCount: UInt64?
    var metadataCount: UInt64?
    var alignment = 32
    var data = Data()

    static func u32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
    static func u64(_ v: UInt64) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
    static func string(_ s: String) -> Data { u64(UInt64(s.utf8.count)) + Data(s.utf8) }

    /// Adds a key with value type `type` and the already-encoded value bytes.
    mutating func add(_ key: String, type: UInt32, _ value: Data) {
        metadata.append(Self.string(key) + Self.u32(type) + value)
    }

    mutating func addString(_ key: String, _ value: String) { add(key, type: 8, Self.string(value)) }
    mutating func addU32(_ key: String, _ value: UInt32) { add(key, type: 4, Self.u32(value)) }

    /// Adds a tensor description; `offset` is relative to the data section.
    mutating func addTensor(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        var info = Self.string(name) + Self.u32(UInt32(dims.count))
        for d in dims { info += Self.u64(d) }
        info += Self.u32(type) + Self.u64(offset)
        tensorInfos.append(info)
    }

    func build() -> Data {
        var out = Data(magic) + Self.u32(version)
        out += Self.u64(tensorCount ?? UInt64(tensorInfos.count))
        out += Self.u64(metadataCount ?? UInt64(metadata.count))
        for m in metadata { out += m }
        for t in tensorInfos { out += t }
        if !tensorInfos.isEmpty || !data.isEmpty {
            out += Data(count: (alignment - out.count % alignment) % alignment)
        }
        return out + data
    }

    func write(to directory: URL, name: String = "test.gguf") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try build().write(to: url)
        return url
    }
}
