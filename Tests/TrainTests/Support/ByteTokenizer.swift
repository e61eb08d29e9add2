import Model

/// A small tokenizer for tests: every UTF-8 byte is one token (ids 0…255), and the special
/// tokens listed in `specials` (ids from 256) are matched in text, longest first.
struct ByteTokenizer: Tokenizer {
    static let defaultSpecials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>",
                                  "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    let specials: [String]
    let bosTokenID: Int?
    let eosTokenID: Int?
    let padTokenID: Int?
    let chatTemplate: String?
    /// Whether `encode(_, addSpecialTokens: true)` prepends BOS (Llama-style) or not (Qwen-style).
    let addsBOS: Bool

    /// Qwen-like: EOS `<|im_end|>`, BOS/PAD `<|endoftext|>` (not added), ChatML template.
    static func qwenLike(chatTemplate: String? = "{{ '<|im_start|>' }}") -> ByteTokenizer {
        ByteTokenizer(specials: defaultSpecials, bos: "<|endoftext|>", eos: "<|im_end|>", pad: "<|endoftext|>",
                      chatTemplate: chatTemplate, addsBOS: false)
    }

    /// Llama-2-like: BOS `<s>` added by the tokenizer, EOS `</s>`, no pad.
    static func llamaLike(chatTemplate: String? = nil) -> ByteTokenizer {
        ByteTokenizer(specials: defaultSpecials, bos: "<s>", eos: "</s>", pad: nil, chatTemplate: chatTemplate, addsBOS: true)
    }

    /// Special tokens as (id, UTF-8 bytes), longest first.
    private let specialBytes: [(Int, [UInt8])]

    init(specials: [String], bos: String?, eos: String?, pad: String?, chatTemplate: String?, addsBOS: Bool) {
        self.specials = specials
        specialBytes = specials.enumerated().map { (256 + $0.offset, Array($0.element.utf8)) }.sorted { $0.1.count > $1.1.count }
        func id(_ s: String?) -> Int? { s.flatMap { specials.firstIndex(of: $0) }.map { 256 + $0 } }
        bosTokenID = id(bos)
        eosTokenID = id(eos)
        padTokenID = id(pad)
        self.chatTemplate = chatTemplate
        self.addsBOS = addsBOS
    }

    func id(_ special: String) -> Int { 256 + (specials.firstIndex(of: special) ?? 0) }

    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = []
        if addSpecialTokens, addsBOS, let bos = bosTokenID { ids.append(bos) }
        let bytes = Array(text.utf8)
        ids.reserveCapacity(bytes.count)
        var i = 0
        outer: while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<") {
                for (id, s) in specialBytes where i + s.count <= bytes.count && bytes[i..<(i + s.count)].elementsEqual(s) {
                    ids.append(id)
                    i += s.count
                    continue outer
                }
            }
            ids.append(Int(bytes[i]))
            i += 1
        }
        return ids
    }

    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if id < 256 { bytes.append(UInt8(id)) } else if !skipSpecialTokens { bytes += self.bytes(forToken: id) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func bytes(forToken id: Int) -> [UInt8] {
        if id >= 0, id < 256 { return [UInt8(id)] }
        let index = id - 256
        return specials.indices.contains(index) ? Array(specials[index].utf8) : []
    }

    func tokenID(for token: String) -> Int? {
        if let i = specials.firstIndex(of: token) { return 256 + i }
        let bytes = Array(token.utf8)
        return bytes.count == 1 ? Int(bytes[0]) : nil
    }

    func isSpecial(_ id: Int) -> Bool { id >= 256 }
    var vocabularySize: Int { 256 + specials.count }
}

extension ByteTokenizer {
    /// Decodes ids (as stored in examples), keeping special tokens.
    func text(_ ids: [Int]) -> String { decode(ids, skipSpecialTokens: false) }
}
