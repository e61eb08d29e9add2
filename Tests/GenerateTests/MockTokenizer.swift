import Model

/// A byte-level test tokenizer: ids 0–255 are single bytes, then a few multi-byte pieces and specials.
struct MockTokenizer: Tokenizer {
    static let eos = 300
    static let special = 301  // "<|tool|>"
    static let imEnd = 302  // "<|im_end|>", special, not EOS
    /// Multi-byte pieces: whole words and fragments that split characters.
    static let pieces: [Int: [UInt8]] = [
        256: Array("Hello".utf8),
        257: Array(" wor".utf8),
        258: Array("ld".utf8),
        259: [0xE4, 0xB8],  // first two bytes of 中
        260: [0xAD, 0x20],  // last byte of 中, then a space
        261: [0xF0, 0x9F],  // half of 😀
        262: [0x98, 0x80],  // the other half
    ]

    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] { text.utf8.map(Int.init) }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        String(decoding: ids.flatMap { skipSpecialTokens && isSpecial($0) ? [] : bytes(forToken: $0) }, as: UTF8.self)
    }
    func bytes(forToken id: Int) -> [UInt8] {
        switch id {
        case 0..<256: [UInt8(id)]
        case Self.eos: Array("</s>".utf8)
        case Self.special: Array("<|tool|>".utf8)
        case Self.imEnd: Array("<|im_end|>".utf8)
        default: Self.pieces[id] ?? []
        }
    }
    func tokenID(for token: String) -> Int? { token == "</s>" ? Self.eos : nil }
    func isSpecial(_ id: Int) -> Bool { id >= 300 }
    var vocabularySize: Int { 303 }
    var bosTokenID: Int? { nil }
    var eosTokenID: Int? { Self.eos }
    var padTokenID: Int? { nil }
    var chatTemplate: String? { nil }
}
