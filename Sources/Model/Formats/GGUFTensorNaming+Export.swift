extension GGUFTensorNaming {
    /// The GGUF name of Hugging Face tensor `name` in `family` (the inverse of
    /// ``huggingFace(_:family:headCount:headCountKV:)``), or nil when it has none.
    static func gguf(_ name: String, family: Family) -> String? {
        let (globals, block, prefix): ([String: String], [String: String], String) = switch family {
        case .llama: (llamaGlobalsByHF, llamaBlockByHF, "model.layers.")
        case .gpt2: (gpt2GlobalsByHF, gpt2BlockByHF, "transformer.h.")
        }
        if let global = globals[name] { return global }
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0 else { return nil }
        let path = rest[rest.index(after: dot)...]
        guard let last = path.lastIndex(of: ".") else { return nil }
        let module = String(path[..<last]), leaf = path[path.index(after: last)...]
        guard leaf == "weight" || leaf == "bias", let component = block[module] else { return nil }
        return "blk.\(layer).\(component).\(leaf)"
    }

    private static let llamaGlobalsByHF = Dictionary(uniqueKeysWithValues: llamaGlobals.map { ($1, $0) })
    private static let llamaBlockByHF = Dictionary(uniqueKeysWithValues: llamaBlock.map { ($1, $0) })
    private static let gpt2GlobalsByHF = Dictionary(uniqueKeysWithValues: gpt2Globals.map { ($1, $0) })
    private static let gpt2BlockByHF = Dictionary(uniqueKeysWithValues: gpt2Block.map { ($1.0, $0) })
}
