import Foundation

/// Tailor's default model, Qwen2.5-Coder-0.5B-Instruct (GGUF, Q4_K_M), and where
/// `Scripts/fetch-default-model.sh` puts it: `$TAILOR_CACHE/models/`, by default
/// `~/.cache/tailor/models/`.
public enum DefaultModel {
    /// The file name in the cache's `models` folder.
    public static let fileName = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    /// SHA-256 of the file, pinned by the fetch script (which checks it after every download).
    public static let sha256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"

    /// Tailor's cache folder: `$TAILOR_CACHE` when set and not empty, else `~/.cache/tailor`.
    public static var cacheDirectory: URL {
        if let c = ProcessInfo.processInfo.environment["TAILOR_CACHE"], !c.isEmpty { return URL(fileURLWithPath: c) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tailor")
    }

    /// Where the default model is (or would be) cached.
    public static var url: URL { cacheDirectory.appendingPathComponent("models").appendingPathComponent(fileName) }

    /// Whether the default model has been fetched.
    public static var isAvailable: Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Loads the cached default model and its tokenizer.
    /// - Throws: ``ModelLoadError/missingFile(_:)`` when it has not been fetched yet.
    public static func load(keepQuantized: Bool = false) throws -> (model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        guard isAvailable else { throw ModelLoadError.missingFile(url.path) }
        return try LanguageModel.load(from: url, keepQuantized: keepQuantized)
    }
}
