import Foundation
import Tensor

/// Loads a model's tokenizer from whatever file it comes in.
public enum TokenizerLoader {
    /// Loads from a Hugging Face `tokenizer.json` (reading `tokenizer_config.json` beside it when present),
    /// a `.gguf` file (vocabulary-only files included), or a model folder holding either
    /// (`tokenizer.json` is preferred over a `.gguf`).
    /// - Throws: `TokenizerError` (or `GGUFError` for a malformed GGUF container).
    public static func load(from url: URL) throws -> any Tokenizer {
        try loadPretrained(from: url)
    }

    /// Like `load(from:)`, returning the concrete type.
    public static func loadPretrained(from url: URL) throws -> PretrainedTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "no such file or folder")
        }
        if isDirectory.boolValue {
            let json = url.appendingPathComponent("tokenizer.json")
            if FileManager.default.fileExists(atPath: json.path) { return try loadTokenizerJSON(json) }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            if let gguf = contents.filter({ $0.lowercased().hasSuffix(".gguf") }).sorted().first {
                return try loadGGUF(url.appendingPathComponent(gguf))
            }
            throw TokenizerError.noTokenizerFound(folder: url.path)
        }
        if url.pathExtension.lowercased() == "gguf" || hasGGUFMagic(url) {
            return try loadGGUF(url)
        }
        return try loadTokenizerJSON(url)
    }

    /// Loads a Hugging Face `tokenizer.json`; `config` defaults to the `tokenizer_config.json` next to it.
    public static func loadTokenizerJSON(_ url: URL, config: URL? = nil) throws -> PretrainedTokenizer {
        let data = try read(url)
        let configURL = config ?? url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        let configData = FileManager.default.fileExists(atPath: configURL.path) ? try read(configURL) : nil
        return try HuggingFaceTokenizerLoader.load(tokenizerJSON: data, config: configData, fileName: url.lastPathComponent)
    }

    /// Builds a tokenizer from the contents of a `tokenizer.json` and, optionally, a `tokenizer_config.json`.
    public static func loadTokenizerJSON(data: Data, config: Data? = nil) throws -> PretrainedTokenizer {
        try HuggingFaceTokenizerLoader.load(tokenizerJSON: data, config: config)
    }

    /// Loads the tokenizer stored in a GGUF file's metadata.
    public static func loadGGUF(_ url: URL) throws -> PretrainedTokenizer {
        try GGUFTokenizerLoader.load(GGUFFile(contentsOf: url))
    }

    /// Builds the tokenizer stored in an opened GGUF file's metadata.
    public static func load(gguf file: GGUFFile) throws -> PretrainedTokenizer {
        try GGUFTokenizerLoader.load(file)
    }

    /// Builds a tokenizer from GGUF metadata values (`tokenizer.ggml.*`).
    public static func load(ggufMetadata metadata: [String: GGUFValue]) throws -> PretrainedTokenizer {
        try GGUFTokenizerLoader.load(metadata: metadata)
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try FileBytes.read(url, mapped: true)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func hasGGUFMagic(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
    }
}
