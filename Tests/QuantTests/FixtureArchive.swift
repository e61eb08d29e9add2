import Foundation
import Tensor
import Model
import TestSupport

/// Raw typed access to a safetensors fixture written by Tools/make_nf4_fixtures.py.
struct FixtureArchive {
    let file: SafetensorsFile

    init(_ name: String) throws { file = try SafetensorsFile(contentsOf: Fixtures.url("QuantTests", name)) }

    func floats(_ name: String) throws -> [Float] {
        try file.withRawBytes(of: name) { b in (0..<(b.count / 4)).map { Float(bitPattern: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
    }

    func bytes(_ name: String) throws -> [UInt8] { try file.withRawBytes(of: name) { Array($0) } }

    func int8s(_ name: String) throws -> [Int8] { try bytes(name).map { Int8(bitPattern: $0) } }

    /// The JSON object stored under `key` in the metadata.
    func meta(_ key: String) throws -> [String: Any] {
        guard let text = file.metadata[key], let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        return object
    }

    var caseCount: Int { Int(file.metadata["cases"] ?? "0") ?? 0 }
}

/// Indices where two Float arrays differ bit for bit (at most a few, for messages).
func bitDifferences(_ a: [Float], _ b: [Float]) -> [Int] {
    guard a.count == b.count else { return [-1] }
    return Array(a.indices.filter { a[$0].bitPattern != b[$0].bitPattern }.prefix(5))
}
