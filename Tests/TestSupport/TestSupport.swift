import Foundation

/// Shared helpers for Tailor's test targets: fixture locations and numeric comparisons.
public enum Fixtures {
    /// The repository's `Tests` folder.
    public static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/<target>/Fixtures/<path>`.
    public static func url(_ target: String, _ path: String) -> URL {
        testsRoot.appendingPathComponent(target).appendingPathComponent("Fixtures").appendingPathComponent(path)
    }

    /// A tiny transformers model folder made by Tools/make_model_fixtures.py ("gpt2", "llama", "llama3-tied", "qwen2").
    public static func tinyModel(_ name: String) -> URL { url("ModelTests", "tiny-models/\(name)") }

    /// Tailor's cache folder (`$TAILOR_CACHE` or `~/.cache/tailor`).
    public static var cache: URL {
        if let c = ProcessInfo.processInfo.environment["TAILOR_CACHE"], !c.isEmpty { return URL(fileURLWithPath: c) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tailor")
    }

    /// The default model in the cache, if it has been fetched (Scripts/fetch-default-model.sh).
    public static var defaultModel: URL? {
        let u = cache.appendingPathComponent("models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }
}

/// Expected logits written by the Tools/ scripts: `input_ids` [B][T], `logits_shape`, flat `logits`.
public struct ExpectedLogits: Decodable {
    public let input_ids: [[Int]]
    public let logits_shape: [Int]
    public let logits: [Float]

    /// Reads `expected.json` in `folder` (or the file itself).
    public static func load(_ url: URL) throws -> ExpectedLogits {
        let file = url.hasDirectoryPath || url.pathExtension.isEmpty ? url.appendingPathComponent("expected.json") : url
        return try JSONDecoder().decode(ExpectedLogits.self, from: Data(contentsOf: file))
    }

    /// The ids flattened row-major, as Int32.
    public var flatIDs: [Int32] { input_ids.flatMap { $0.map(Int32.init) } }
}

/// Largest |a − b| / (|b| + floor) over the elements.
public func maxRelativeError(_ a: [Float], _ b: [Float], floor: Float = 1e-3) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / (abs(y) + floor)) }
    return worst
}

/// Largest |a − b|.
public func maxAbsoluteError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
