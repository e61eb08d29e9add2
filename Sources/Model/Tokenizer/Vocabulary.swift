/// What a vocabulary entry is, with GGUF's `tokenizer.ggml.token_type` numbering.
enum TokenKind: UInt8, Sendable {
    /// An ordinary piece of text.
    case normal = 1
    /// The unknown-token placeholder (`<unk>`).
    case unknown = 2
    /// A control token such as BOS, EOS or `<|im_start|>`.
    case control = 3
    /// An added token matched in text but decoded as ordinary text.
    case userDefined = 4
    /// A reserved, unused slot.
    case unused = 5
    /// A SentencePiece byte token `<0xNN>`.
    case byte = 6
}

/// The token strings of a model, their kinds, a byte-string lookup and each token's decoded bytes.
struct Vocabulary: Sendable {
    /// Token strings as the vocabulary stores them (byte-level alphabet, `▁` for spaces, …).
    let texts: [String]
    /// Kind of each token.
    let kinds: [TokenKind]
    /// UTF-8 of each token string → id.
    let lookup: ByteStringTable
    /// Raw bytes each token decodes to, packed: token `i` is `decodedBytes[decodedStarts[i]..<decodedStarts[i+1]]`.
    let decodedBytes: [UInt8]
    let decodedStarts: [Int]

    /// How normal tokens turn back into bytes.
    enum TextForm: Sendable {
        /// GPT-2 byte-level alphabet.
        case byteLevel
        /// SentencePiece: `▁` is a space, `<0xNN>` byte tokens are raw bytes.
        case sentencePiece
        /// Token strings are the text itself.
        case plain
    }

    /// Builds the vocabulary; `texts` and `kinds` have one entry per id.
    init(texts: [String], kinds: [TokenKind], form: TextForm) {
        self.texts = texts
        self.kinds = kinds
        var lookup = ByteStringTable(capacity: texts.count)
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        bytes.reserveCapacity(texts.count * 6)
        starts.reserveCapacity(texts.count + 1)
        for (id, text) in texts.enumerated() {
            lookup.insert(text.utf8, id: Int32(id))
            Self.appendDecoded(text, kind: kinds[id], form: form, to: &bytes)
            starts.append(bytes.count)
        }
        self.lookup = lookup
        self.decodedBytes = bytes
        self.decodedStarts = starts
    }

    /// Number of tokens.
    var count: Int { texts.count }

    /// The id of an exact token string.
    func id(of text: String) -> Int? { lookup.lookup(text).map(Int.init) }

    /// The decoded bytes of token `id` (empty when out of range).
    func bytes(of id: Int) -> ArraySlice<UInt8> {
        guard id >= 0 && id < texts.count else { return [] }
        return decodedBytes[decodedStarts[id]..<decodedStarts[id + 1]]
    }

    private static func appendDecoded(_ text: String, kind: TokenKind, form: TextForm, to bytes: inout [UInt8]) {
        switch kind {
        case .control, .userDefined, .unknown:
            bytes.append(contentsOf: text.utf8)
            return
        case .byte:
            if let byte = byteTokenValue(text) {
                bytes.append(byte)
                return
            }
        case .normal, .unused:
            break
        }
        switch form {
        case .byteLevel:
            if let raw = ByteLevelMapping.decode(text[...]) {
                bytes.append(contentsOf: raw)
            } else {
                bytes.append(contentsOf: text.utf8)  // as Hugging Face's ByteLevel decoder does
            }
        case .sentencePiece:
            for scalar in text.unicodeScalars {
                if scalar == "\u{2581}" {
                    bytes.append(0x20)
                } else {
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        case .plain:
            bytes.append(contentsOf: text.utf8)
        }
    }

    /// The byte of a SentencePiece byte token such as `<0x0A>`, or nil.
    static func byteTokenValue(_ text: String) -> UInt8? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 6, utf8[0] == 0x3C, utf8[1] == 0x30, utf8[2] == 0x78 || utf8[2] == 0x58, utf8[5] == 0x3E,
              let value = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16) else { return nil }
        return value
    }

    /// The SentencePiece byte token text for `byte`, e.g. `<0x0A>`.
    static func byteTokenText(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// Ids of the byte tokens `<0x00>` … `<0xFF>` (-1 where missing).
    func byteTokenIDs() -> [Int32] {
        (0..<256).map { byte in
            lookup.lookup(Self.byteTokenText(UInt8(byte))) ?? -1
        }
    }
}
