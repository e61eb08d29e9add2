import Foundation

/// Errors raised while reading a test fixture.
enum FixtureError: Error, CustomStringConvertible {
    case unreadable(String)
    case malformedHeader(String)
    case missingTensor(String)
    case wrongType(name: String, expected: String, actual: String)
    case badParameter(case: String, key: String)

    var description: String {
        switch self {
        case .unreadable(let why): return "fixture unreadable: \(why)"
        case .malformedHeader(let why): return "fixture header malformed: \(why)"
        case .missingTensor(let name): return "fixture has no tensor \(name)"
        case .wrongType(let name, let expected, let actual): return "fixture tensor \(name) is \(actual), expected \(expected)"
        case .badParameter(let c, let key): return "fixture case \(c): parameter \(key) missing or of the wrong type"
        }
    }
}

/// A minimal safetensors reader for the test fixtures (F32 and I32 only).
///
/// Layout: 8-byte little-endian header length, a JSON header mapping each name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the end of the header),
/// an optional `__metadata__` map of strings, then the raw little-endian data.
struct FixtureFile {
    struct Entry {
        let dtype: String
        let shape: [Int]
        let range: Range<Int>
    }

    let data: Data
    let entries: [String: Entry]
    let metadata: [String: String]

    init(url: URL) throws {
        guard let data = try? Data(contentsOf: url) else { throw FixtureError.unreadable(url.path) }
        guard data.count >= 8 else { throw FixtureError.unreadable("\(url.path) is \(data.count) bytes") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else { throw FixtureError.malformedHeader("length \(headerLength)") }
        let headerEnd = 8 + Int(headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) as? [String: Any] else {
            throw FixtureError.malformedHeader("not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1],
                  offsets[1] <= data.count - headerEnd else {
                throw FixtureError.malformedHeader("entry \(name)")
            }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * 4 else { throw FixtureError.malformedHeader("size of \(name)") }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (headerEnd + offsets[0])..<(headerEnd + offsets[1]))
        }
        self.data = data
        self.entries = entries
        self.metadata = metadata
    }

    /// Whether a tensor named `name` exists.
    func contains(_ name: String) -> Bool { entries[name] != nil }

    /// Shape and values of a float32 tensor.
    func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let entry = try self.entry(name, dtype: "F32")
        let values = data.subdata(in: entry.range).withUnsafeBytes { raw in
            (0..<(entry.range.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (entry.shape, values)
    }

    /// Values of an int32 tensor.
    func ints(_ name: String) throws -> [Int32] {
        let entry = try self.entry(name, dtype: "I32")
        return data.subdata(in: entry.range).withUnsafeBytes { raw in
            (0..<(entry.range.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }
    }

    private func entry(_ name: String, dtype: String) throws -> Entry {
        guard let entry = entries[name] else { throw FixtureError.missingTensor(name) }
        guard entry.dtype == dtype else { throw FixtureError.wrongType(name: name, expected: dtype, actual: entry.dtype) }
        return entry
    }
}

/// Path of a fixture file next to the test sources.
func fixtureURL(_ name: String, file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}
