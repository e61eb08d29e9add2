/// Finds added/special tokens (e.g. `<|im_start|>`) written in raw text, before any normalization
/// or pre-tokenization, so they become single ids instead of being split.
///
/// Matching is leftmost-longest, as Hugging Face `tokenizers` does: scanning left to right, the
/// first position where some token starts wins, and there the longest token.
struct SpecialTokenMatcher: Sendable {
    /// A token the matcher looks for.
    struct Entry: Sendable {
        /// Exact text of the token.
        var text: String
        /// Its id.
        var id: Int
        /// Matched only when the caller asks for special-token parsing (GGUF control tokens);
        /// otherwise always matched (added / user-defined tokens).
        var onlyWhenParsingSpecial: Bool
        /// Also swallow whitespace before the token (`lstrip`).
        var stripLeft = false
        /// Also swallow whitespace after the token (`rstrip`).
        var stripRight = false
    }

    /// A run of ordinary text or a matched token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    private var nodes: [Node] = [Node()]
    private var entries: [Entry] = []
    private var firstBytes = [Bool](repeating: false, count: 256)

    private struct Node: Sendable {
        var children: [(byte: UInt8, node: Int32)] = []
        var entry: Int32 = -1
    }

    /// Whether there is nothing to match.
    var isEmpty: Bool { entries.isEmpty }

    /// A matcher for `entries` (empty texts are ignored; a later entry with the same text wins).
    init(_ entries: [Entry]) {
        for entry in entries where !entry.text.isEmpty {
            var node = 0
            for byte in entry.text.utf8 {
                if let child = nodes[node].children.first(where: { $0.byte == byte }) {
                    node = Int(child.node)
                } else {
                    nodes.append(Node())
                    nodes[node].children.append((byte, Int32(nodes.count - 1)))
                    node = nodes.count - 1
                }
            }
            nodes[node].entry = Int32(self.entries.count)
            self.entries.append(entry)
            if let first = entry.text.utf8.first { firstBytes[Int(first)] = true }
        }
    }

    /// Splits `bytes` into ordinary text and matched tokens.
    func segments(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Segment] {
        var result: [Segment] = []
        var textStart = 0
        var position = 0
        while position < bytes.count {
            guard firstBytes[Int(bytes[position])], let (entry, end) = longestMatch(bytes, at: position, parseSpecial) else {
                position += 1
                continue
            }
            var before = position
            if entry.stripLeft {
                while before > textStart, isSpace(bytes[before - 1]) { before -= 1 }
            }
            var after = end
            if entry.stripRight {
                while after < bytes.count, isSpace(bytes[after]) { after += 1 }
            }
            if before > textStart { result.append(.text(textStart..<before)) }
            result.append(.token(entry.id))
            textStart = after
            position = after
        }
        if textStart < bytes.count { result.append(.text(textStart..<bytes.count)) }
        return result
    }

    private func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ parseSpecial: Bool) -> (Entry, Int)? {
        var node = 0
        var best: (Entry, Int)?
        var position = start
        while position < bytes.count {
            let byte = bytes[position]
            guard let child = nodes[node].children.first(where: { $0.byte == byte }) else { break }
            node = Int(child.node)
            position += 1
            let entryIndex = nodes[node].entry
            if entryIndex >= 0 {
                let entry = entries[Int(entryIndex)]
                if parseSpecial || !entry.onlyWhenParsingSpecial { best = (entry, position) }
            }
        }
        return best
    }

    @inline(__always)
    private func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}
