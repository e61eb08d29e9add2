import Model

/// The stand-in tokenizer of a ``Generator`` made without one: it knows no text, so results
/// carry token ids and empty text, and only `stopTokenIDs` (not stop strings or EOS) end a row.
struct IDOnlyTokenizer: Tokenizer {
    let vocabularySize: Int
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] { [] }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
    func bytes(forToken id: Int) -> [UInt8] { [] }
    func tokenID(for token: String) -> Int? { nil }
    func isSpecial(_ id: Int) -> Bool { false }
    var bosTokenID: Int? { nil }
    var eosTokenID: Int? { nil }
    var padTokenID: Int? { nil }
    var chatTemplate: String? { nil }
}
