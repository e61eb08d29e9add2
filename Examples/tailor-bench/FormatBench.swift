import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench dequantize`: opens the default model and dequantizes every tensor; GB/s of Float32
/// output per GGML type.
struct DequantizeBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dequantize", abstract: "Whole-model dequantization GB/s per type.")

    func run() throws {
        let start = Date()
        let file = try GGUFFile(contentsOf: BenchModels.defaultModelURL)
        var seconds: [String: Double] = [:], bytes: [String: Int] = [:]
        for info in file.tensors {
            let t0 = Date()
            let tensor = try file.float32(named: info.name)
            seconds[info.type.name, default: 0] += Date().timeIntervalSince(t0)
            bytes[info.type.name, default: 0] += tensor.count * 4
        }
        for type in seconds.keys.sorted() {
            let gb = Double(bytes[type] ?? 0) / 1e9, s = seconds[type] ?? 0
            emit([("bench", .string("dequantize")), ("type", .string(type)), ("output_gb", .number(gb, decimals: 3)),
                  ("seconds", .number(s, decimals: 3)), ("gb_per_s", .number(gb / max(s, 1e-9), decimals: 2))])
        }
        emit([("bench", .string("dequantize")), ("type", .string("all")), ("tensors", .int(file.tensors.count)),
              ("seconds", .number(Date().timeIntervalSince(start), decimals: 2))])
    }
}

/// `tailor-bench tokenizer`: encode and decode throughput of Qwen2's vocabulary (llama.cpp's vocab
/// file, Scripts/fetch-tokenizer-vectors.sh) on mixed prose, code and non-Latin text.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Tokenizer encode/decode MB/s.")

    @Option(help: "A UTF-8 file to encode instead of the built-in text.") var text: String?
    @Option(help: "Size of the built-in text in MB.") var megabytes = 8
    @Option(help: "Repetitions (best time is reported).") var repeats = 3

    func run() throws {
        let vocab = DefaultModel.cacheDirectory.appendingPathComponent("vocab/ggml-vocab-qwen2.gguf")
        let t0 = Date()
        let tokenizer = try TokenizerLoader.loadGGUF(vocab)
        let load = Date().timeIntervalSince(t0)
        let input = try text.map { String(decoding: try Data(contentsOf: URL(fileURLWithPath: $0)), as: UTF8.self) }
            ?? Self.mixedText(size: megabytes << 20)
        let mb = Double(input.utf8.count) / 1e6
        var tokens = 0
        let encode = bestTime(warmup: 0, runs: repeats) { tokens = tokenizer.encode(input, addSpecialTokens: false).count }
        let ids = tokenizer.encode(input, addSpecialTokens: false)
        let decode = bestTime(warmup: 0, runs: repeats) { _ = tokenizer.decode(ids, skipSpecialTokens: false) }
        let lines = input.split(separator: "\n").map(String.init)
        let perLine = bestTime(warmup: 0, runs: 1) { for line in lines { _ = tokenizer.encode(line, addSpecialTokens: true) } }
        emit([("bench", .string("tokenizer")), ("load_s", .number(load, decimals: 2)), ("mb", .number(mb, decimals: 1)),
              ("tokens", .int(tokens)), ("encode_mb_per_s", .number(mb / encode, decimals: 1)),
              ("encode_lines_mb_per_s", .number(mb / perLine, decimals: 1)), ("decode_mb_per_s", .number(mb / decode, decimals: 1))])
    }

    /// About `size` bytes of words, numbers, code and non-Latin text in a fixed pseudo-random order.
    static func mixedText(size: Int) -> String {
        let pieces = ["the", "of", "and", "tokenizer", "model", "gradient", "adapter", "training", "Straße", "naïve", "Привет",
                      "мир", "我想", "工作", "こんにちは", "🚀", "Ελληνικά", "2026", "3.14159", "def f(x):\n    return x * 2\n",
                      "for (int i = 0; i < n; ++i) { sum += a[i]; }\n", ".", ",", "\n"]
        var state: UInt64 = 20_261_123
        var out = ""
        out.reserveCapacity(size + 64)
        while out.utf8.count < size {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out += pieces[Int((state >> 33) % UInt64(pieces.count))] + " "
        }
        return out
    }
}
