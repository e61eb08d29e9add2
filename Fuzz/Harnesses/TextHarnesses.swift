import Foundation
import Model
import PEFT
import Train

/// Harnesses for text formats: tokenizer.json, JSONL datasets, chat templates, adapter configs.
enum TextHarnesses {
    /// Strings every loaded tokenizer encodes and decodes.
    static let probes = ["", "hello world", "  leading\tand\r\ntrailing  ", "naïve café 日本語 🧵🪡",
                         "<|im_start|>user\nhi<|im_end|>", "<s></s><unk>", "\u{0}\u{7f}\u{fffd}", String(repeating: "ab ", count: 40)]

    /// A tokenizer.json (the input) with the fixture's tokenizer_config.json.
    static func tokenizerJSON(_ data: Data) {
        guard let tokenizer = try? TokenizerLoader.loadTokenizerJSON(data: data) else { return }
        exercise(tokenizer, extra: String(decoding: data.prefix(200), as: UTF8.self))
    }

    /// Encodes and decodes the probes (and `extra`), and decodes ids around the vocabulary's edges.
    static func exercise(_ tokenizer: some Tokenizer, extra: String = "") {
        for text in probes + [extra] {
            for special in [false, true] {
                let ids = tokenizer.encode(text, addSpecialTokens: special, parseSpecialTokens: special)
                _ = tokenizer.decode(ids, skipSpecialTokens: special)
            }
        }
        let v = tokenizer.vocabularySize
        let edges = [-1, 0, 1, v - 1, v, v + 1, Int.max, Int.min]
        _ = tokenizer.decode(edges, skipSpecialTokens: false)
        _ = tokenizer.decode(edges, skipSpecialTokens: true)
        for id in edges {
            _ = tokenizer.bytes(forToken: id)
            _ = tokenizer.isSpecial(id)
        }
        _ = tokenizer.chatTemplate.map { ChatTemplate.detect(jinja: $0) }
    }

    /// The fixture model's real byte-level tokenizer.
    static let fixtureTokenizer: (any Tokenizer)? = try? TokenizerLoader.load(from: FuzzFixtures.cliModel)

    /// A JSONL dataset through the whole data pipeline (every format detection, templates, batches).
    static func jsonl(_ data: Data) {
        guard let loaded = try? JSONLReader.read(data: data, source: "fuzz") else { return }
        guard let tokenizer = fixtureTokenizer else { return }
        let flags = data.last ?? 0
        var config = DataConfig(maxSequenceLength: 8 + Int(flags % 32), truncation: flags & 32 == 0 ? .right : .left,
                                trainOnPrompt: flags & 64 != 0, validationFraction: flags & 128 == 0 ? 0 : 0.5)
        config.batching.packing = flags & 1 != 0
        config.batching.batchSize = 1 + Int(flags % 3)
        guard let prepared = try? DataPipeline.prepare(loaded, tokenizer: tokenizer, config: config) else { return }
        if let batches = try? PipelineBatches(prepared.train, config: config, padID: 0, shuffle: true) {
            _ = batches.batches(epoch: 0, seed: 1)
        }
        for record in loaded.records {
            _ = try? prepared.formatter.prompt(for: record)
            _ = prepared.formatter.reference(for: record)
        }
    }

    /// Chat templates: the input as a Jinja template for detection, as a JSON template value, and
    /// split at NUL bytes into messages rendered by every built-in template.
    static func chatTemplates(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        _ = ChatTemplate.detect(jinja: text, bosToken: "<s>", eosToken: "</s>")
        let decoded = try? JSONDecoder().decode(ChatTemplate.self, from: data)
        let parts = data.split(separator: 0, omittingEmptySubsequences: false)
        let messages = parts.enumerated().map { i, part in
            ChatMessage(role: ChatRole.allCases[(part.first.map(Int.init) ?? i) % ChatRole.allCases.count],
                        content: String(decoding: part.dropFirst(), as: UTF8.self))
        }
        let templates: [ChatTemplate] = [.qwen2_5, .chatML(defaultSystemPrompt: nil), .llama2Chat, .llama3Instruct, .alpaca] + (decoded.map { [$0] } ?? [])
        for template in templates {
            for generation in [false, true] {
                _ = try? template.render(messages, addGenerationPrompt: generation)
                _ = try? template.segments(messages, addGenerationPrompt: generation)
            }
        }
    }

    /// An `adapter_config.json` decoded as a LoRA configuration (read-only).
    static func adapterConfig(_ data: Data) {
        guard let config = try? JSONDecoder().decode(LoRAConfiguration.self, from: data) else { return }
        _ = try? JSONEncoder().encode(config)
        _ = try? config.validate()
    }
}
