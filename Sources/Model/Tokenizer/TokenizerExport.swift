import Foundation

/// Writing a model's tokenizer as Hugging Face files next to exported weights.
public enum TokenizerExport {
    /// Files copied from a model folder.
    static let folderFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                              "vocab.json", "merges.txt", "tokenizer.model"]

    /// Copies the tokenizer files of a model folder, or writes `tokenizer.json` and
    /// `tokenizer_config.json` for a GGUF file with a byte-level BPE vocabulary
    /// (`tokenizer.ggml.model = gpt2` with the gpt-2, llama-bpe or qwen2 pre-tokenizer).
    public static func copy(from source: URL, to directory: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else { throw ModelLoadError.missingFile(source.path) }
        if isDirectory.boolValue {
            for name in folderFiles where fm.fileExists(atPath: source.appendingPathComponent(name).path) {
                let target = directory.appendingPathComponent(name)
                try? fm.removeItem(at: target)
                try fm.copyItem(at: source.appendingPathComponent(name), to: target)
            }
            return
        }
        let file = try GGUFFile(contentsOf: source)
        try writeHuggingFaceFiles(from: file, to: directory)
    }

    /// `tokenizer.json` + `tokenizer_config.json` from GGUF tokenizer metadata.
    static func writeHuggingFaceFiles(from file: GGUFFile, to directory: URL) throws {
        func fail(_ why: String) -> TokenizerError { .unsupportedModel("cannot export this tokenizer as tokenizer.json: \(why)") }
        guard file["tokenizer.ggml.model"]?.string == "gpt2" else { throw fail("only byte-level BPE vocabularies are exported") }
        guard let tokens = file["tokenizer.ggml.tokens"]?.stringArray, let merges = file["tokenizer.ggml.merges"]?.stringArray else {
            throw fail("missing tokens or merges")
        }
        let types = file["tokenizer.ggml.token_type"]?.intArray ?? []
        let pre = file["tokenizer.ggml.pre"]?.string ?? "gpt2"
        let regex: String
        switch pre {
        case "qwen2": regex = KnownPreTokenizers.qwen2Regex
        case "llama-bpe", "llama3": regex = KnownPreTokenizers.llama3Regex
        case "gpt-2", "gpt2": regex = KnownPreTokenizers.gpt2Regex
        default: throw fail("pre-tokenizer '\(pre)'")
        }
        // Written by hand (vocabulary in id order): deterministic, and far faster than JSONSerialization
        // on a 150k-entry dictionary. A token string that occurs twice keeps its last id.
        var lastID: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { lastID[token] = id }
        var text = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
        var first = true
        for (id, token) in tokens.enumerated() {
            let type = id < types.count ? types[id] : 1
            guard type == 3 || type == 4 else { continue }
            text += (first ? "" : ",") + "{\"id\":\(id),\"content\":" + JSONText.quote(token)
                + ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":\(type == 3)}"
            first = false
        }
        let byteLevel = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}"
        text += "],\"normalizer\":" + (pre == "qwen2" ? "{\"type\":\"NFC\"}" : "null")
        text += ",\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
            + JSONText.quote(regex) + "},\"behavior\":\"Isolated\",\"invert\":false}," + byteLevel + "]}"
        text += ",\"post_processor\":" + byteLevel + ",\"decoder\":" + byteLevel
        text += ",\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":\"\""
            + ",\"end_of_word_suffix\":\"\",\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":"
            + (KnownPreTokenizers.ggufConventions(name: pre).ignoreMerges ? "true" : "false") + ",\"vocab\":{"
        first = true
        for (id, token) in tokens.enumerated() where lastID[token] == id {
            text += (first ? "" : ",") + JSONText.quote(token) + ":\(id)"
            first = false
        }
        text += "},\"merges\":["
        for (index, merge) in merges.enumerated() {
            text += (index == 0 ? "" : ",") + JSONText.quote(merge)
        }
        text += "]}}"
        try Data(text.utf8).write(to: directory.appendingPathComponent("tokenizer.json"), options: .atomic)
        var config: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false,
                                     "model_max_length": file["\(file.architecture ?? "").context_length"]?.int ?? 32768]
        func token(_ key: String) -> String? { file[key]?.int.flatMap { $0 < tokens.count ? tokens[$0] : nil } }
        if let eos = token("tokenizer.ggml.eos_token_id") { config["eos_token"] = eos }
        if let pad = token("tokenizer.ggml.padding_token_id") { config["pad_token"] = pad }
        if file["tokenizer.ggml.add_bos_token"]?.bool == true, let bos = token("tokenizer.ggml.bos_token_id") { config["bos_token"] = bos }
        if let template = file["tokenizer.chat_template"]?.string { config["chat_template"] = template }
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
    }
}
