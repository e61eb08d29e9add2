import Foundation

/// A fuzz harness: feeds one input to a parser. Errors are expected; a crash, a sanitizer report
/// or a hang is a bug.
public struct FuzzHarness: Sendable {
    /// Name used by `Scripts/fuzz.sh` and the corpus folders.
    public let name: String
    /// Runs one input.
    public let run: @Sendable (Data) -> Void

    /// Every harness, by name.
    public static let all: [String: FuzzHarness] = Dictionary(uniqueKeysWithValues: [
        FuzzHarness(name: "gguf", run: { FormatHarnesses.gguf($0) }),
        FuzzHarness(name: "safetensors", run: { FormatHarnesses.safetensors($0) }),
        FuzzHarness(name: "tokenizer", run: { TextHarnesses.tokenizerJSON($0) }),
        FuzzHarness(name: "config", run: { FormatHarnesses.configJSON($0) }),
        FuzzHarness(name: "jsonl", run: { TextHarnesses.jsonl($0) }),
        FuzzHarness(name: "chat", run: { TextHarnesses.chatTemplates($0) }),
        FuzzHarness(name: "ggml", run: { FormatHarnesses.ggmlBlocks($0) }),
        FuzzHarness(name: "adapter-config", run: { TextHarnesses.adapterConfig($0) }),
        FuzzHarness(name: "checkpoint", run: { CheckpointHarness.run($0) }),
    ].map { ($0.name, $0) })
}

/// A per-process scratch file for parsers that read from disk (in /dev/shm when available).
enum ScratchFile {
    static let directory: URL = {
        let shm = URL(fileURLWithPath: "/dev/shm")
        return FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
    }()

    /// Writes `data` to a file with `suffix` unique to this process and returns its URL.
    static func write(_ data: Data, suffix: String) -> URL? {
        let url = directory.appendingPathComponent("tailor-fuzz-\(getpid())\(suffix)")
        return (try? data.write(to: url)) == nil ? nil : url
    }
}

/// The tiny fixtures the harnesses reuse (a real byte-level BPE tokenizer).
enum FuzzFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cliModel = root.appendingPathComponent("Tests/GenerateTests/Fixtures/cli/tiny-qwen2")
}
