/// Rank-based BPE: Hugging Face's `BPE` model and GGUF's `gpt2` tokenizer model.
///
/// A piece starts as one symbol per byte (byte-level vocabularies) or per character (SentencePiece-style
/// vocabularies, with `<0xNN>` byte fallback for characters outside the vocabulary); merge rules then join
/// adjacent symbols by rank.
struct BPEModel: Sendable {
    /// Merge rules.
    let merges: MergeTable
    /// Whether symbols are bytes in GPT-2's byte-level alphabet (otherwise UTF-8 characters).
    let byteLevel: Bool
    /// Byte-level: id of the one-byte token for each byte (-1 where missing).
    let byteSymbols: [Int32]
    /// Character mode: ids of `<0x00>`…`<0xFF>` when byte fallback is on.
    let byteFallback: [Int32]?
    /// Id of the unknown token, or -1.
    let unknownID: Int32
    /// Whether consecutive unknown characters become one unknown token.
    let fuseUnknown: Bool
    /// When a whole piece is a token, use it without merging (Llama-3's `ignore_merges`).
    let wholePieces: ByteStringTable?

    /// Per-call working memory.
    struct Scratch {
        var symbols: [Int32] = []
        var merger = BytePairMerger()
    }

    /// Appends the ids of one pre-token to `output`.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, vocabulary: Vocabulary, scratch: inout Scratch, into output: inout [Int]) {
        if let wholePieces, let id = wholePieces.lookup(piece) {
            output.append(Int(id))
            return
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        if byteLevel {
            for byte in piece {
                let id = byteSymbols[Int(byte)]
                if id >= 0 {
                    scratch.symbols.append(id)
                } else if unknownID >= 0 {
                    scratch.symbols.append(unknownID)
                }
            }
        } else {
            appendCharacterSymbols(piece, vocabulary, &scratch.symbols)
        }
        scratch.merger.merge(&scratch.symbols, merges)
        for id in scratch.symbols { output.append(Int(id)) }
    }

    private func appendCharacterSymbols(_ piece: UnsafeBufferPointer<UInt8>, _ vocabulary: Vocabulary, _ symbols: inout [Int32]) {
        var offset = 0
        var previousWasUnknown = false
        while offset < piece.count {
            let lead = piece[offset]
            let length = min(lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1, piece.count - offset)
            let character = UnsafeBufferPointer(rebasing: piece[offset..<(offset + length)])
            offset += length
            if let id = vocabulary.lookup.lookup(character) {
                symbols.append(id)
                previousWasUnknown = false
                continue
            }
            if let byteFallback, character.allSatisfy({ byteFallback[Int($0)] >= 0 }) {
                for byte in character { symbols.append(byteFallback[Int(byte)]) }
                previousWasUnknown = false
                continue
            }
            if unknownID >= 0 && !(fuseUnknown && previousWasUnknown) {
                symbols.append(unknownID)
            }
            previousWasUnknown = unknownID >= 0
        }
    }
}

/// llama.cpp's SentencePiece vocabulary model (GGUF tokenizer model `llama`): score-based merging.
struct SentencePieceModel: Sendable {
    /// Score of each token (higher merges first).
    let scores: [Float]
    /// Ids of `<0x00>`…`<0xFF>` (-1 where missing).
    let byteTokens: [Int32]
    /// Id of the unknown token, or -1.
    let unknownID: Int32
}
