import Foundation
import Tensor

/// Errors raised while reading a test fixture's cases.
enum FixtureError: Error, CustomStringConvertible {
    case malformedHeader(String)
    case missingTensor(String)
    case badParameter(case: String, key: String)

    var description: String {
        switch self {
        case .malformedHeader(let why): return "fixture header malformed: \(why)"
        case .missingTensor(let name): return "fixture has no tensor \(name)"
        case .badParameter(let c, let key): return "fixture case \(c): parameter \(key) missing or of the wrong type"
        }
    }
}

/// The torch fixtures are safetensors files, read with the library's own reader.
typealias FixtureFile = SafetensorsFile

extension SafetensorsFile {
    /// Opens a fixture.
    init(url: URL) throws { try self.init(contentsOf: url) }

    /// Whether a tensor named `name` exists.
    func contains(_ name: String) -> Bool { (try? info(named: name)) != nil }

    /// Shape and values of a float tensor.
    func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let t = try tensor(named: name)
        return (t.shape, t.scalars)
    }

    /// Values of an int32 tensor.
    func ints(_ name: String) throws -> [Int32] { try int32Values(named: name) }
}

/// Path of a fixture file next to the test sources.
func fixtureURL(_ name: String, file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}
