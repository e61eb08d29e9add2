/// Score-based BPE over UTF-8 characters, as llama.cpp runs SentencePiece vocabularies
/// (GGUF tokenizer model `llama`): repeatedly join the adjacent pair whose concatenation is a
/// vocabulary token with the highest score (leftmost on ties); characters that end up outside
/// the vocabulary are emitted as byte tokens `<0xNN>`.
struct SentencePieceMerger {
    private struct Symbol {
        var start: Int32
        var length: Int32
        var previous: Int32
        var next: Int32
    }

    private struct Candidate: Comparable {
        /// Score (order-preserving bits, inverted so higher scores sort first) above the left index.
        var key: UInt64
        var right: Int32
        var length: Int32

        /// Candidates are ordered by key alone.
        static func < (a: Candidate, b: Candidate) -> Bool { a.key < b.key }
    }

    private var symbols: [Symbol] = []
    private var heap = MinHeap<Candidate>()

    /// Appends the ids of `text` (already escaped: spaces are `▁`) to `output`.
    mutating func encode(
        _ text: UnsafeBufferPointer<UInt8>, vocabulary: ByteStringTable, scores: [Float],
        byteTokens: [Int32], unknownID: Int32, into output: inout [Int]
    ) {
        symbols.removeAll(keepingCapacity: true)
        heap.removeAll()
        var offset = 0
        while offset < text.count {
            let lead = text[offset]
            let length = min(lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1, text.count - offset)
            let index = Int32(symbols.count)
            symbols.append(Symbol(start: Int32(offset), length: Int32(length), previous: index - 1,
                                  next: offset + length == text.count ? -1 : index + 1))
            offset += length
        }
        guard !symbols.isEmpty else { return }
        for index in 1..<max(symbols.count, 1) {
            addCandidate(Int32(index - 1), Int32(index), text, vocabulary, scores)
        }
        while let candidate = heap.popMinimum() {
            let left = Int(UInt32(truncatingIfNeeded: candidate.key))
            let right = Int(candidate.right)
            if symbols[left].length == 0 || symbols[right].length == 0
                || symbols[left].length + symbols[right].length != candidate.length { continue }
            symbols[left].length += symbols[right].length
            symbols[right].length = 0
            symbols[left].next = symbols[right].next
            if symbols[right].next >= 0 { symbols[Int(symbols[right].next)].previous = Int32(left) }
            addCandidate(symbols[left].previous, Int32(left), text, vocabulary, scores)
            addCandidate(Int32(left), symbols[left].next, text, vocabulary, scores)
        }
        var index = 0
        while index >= 0 {
            let symbol = symbols[index]
            let piece = UnsafeBufferPointer(rebasing: text[Int(symbol.start)..<Int(symbol.start + symbol.length)])
            if let id = vocabulary.lookup(piece) {
                output.append(Int(id))
            } else {
                for byte in piece {
                    let id = byteTokens[Int(byte)]
                    if id >= 0 {
                        output.append(Int(id))
                    } else if unknownID >= 0 {
                        output.append(Int(unknownID))
                    }
                }
            }
            index = Int(symbol.next)
        }
    }

    private mutating func addCandidate(
        _ left: Int32, _ right: Int32, _ text: UnsafeBufferPointer<UInt8>,
        _ vocabulary: ByteStringTable, _ scores: [Float]
    ) {
        guard left >= 0, right >= 0 else { return }
        let start = Int(symbols[Int(left)].start)
        let length = Int(symbols[Int(left)].length + symbols[Int(right)].length)
        guard let id = vocabulary.lookup(UnsafeBufferPointer(rebasing: text[start..<(start + length)])),
              Int(id) < scores.count else { return }
        let key = UInt64(~Self.orderedBits(scores[Int(id)])) << 32 | UInt64(UInt32(left))
        heap.push(Candidate(key: key, right: right, length: Int32(length)))
    }


    /// Maps a float to unsigned bits with the same order (for finite values and infinities).
    @inline(__always)
    private static func orderedBits(_ value: Float) -> UInt32 {
        let bits = value.bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }
}
