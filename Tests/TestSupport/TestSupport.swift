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
    public var flatIDs: [Int] { input_ids.flatMap { $0 } }
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

/// The package's executables for end-to-end tests: the one built next to the test bundle (by
/// `swift build --build-tests`), else built on demand into `.build/test-products` — a missing binary
/// is built, never a reason to skip.
public enum BuiltProducts {
    /// The folder holding the built products: the one containing the test bundle.
    public static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    /// The executable product `name`, building it when it is not there.
    public static func executable(_ name: String) throws -> URL {
        let beside = productsDirectory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = Fixtures.testsRoot.deletingLastPathComponent()
        let scratch = root.appendingPathComponent(".build/test-products")
        let configuration = productsDirectory.path.contains("/debug") ? "debug" : "release"
        func swiftBuild(_ extra: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["swift", "build", "-c", configuration, "--product", name, "--scratch-path", scratch.path] + extra
            process.currentDirectoryURL = root
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            guard process.terminationStatus == 0 else { throw BuildFailure(product: name, output: text) }
            return text
        }
        _ = try swiftBuild([])
        let binPath = try swiftBuild(["--show-bin-path"]).split(separator: "\n").last.map(String.init) ?? ""
        let built = URL(fileURLWithPath: binPath).appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: built.path) else { throw BuildFailure(product: name, output: "no \(built.path)") }
        return built
    }

    /// `swift build` of a product failed.
    public struct BuildFailure: Error, CustomStringConvertible {
        public let product: String
        public let output: String
        public var description: String { "building \(product) failed:\n\(output)" }
    }
}
