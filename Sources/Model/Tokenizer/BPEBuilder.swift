/// Shared construction of rank-based BPE models from token strings and merge rules.
enum BPEBuilder {
    /// Builds the merge table from `merges` (in rank order, as `(left, right)` token strings).
    /// With `strict`, a merge naming a missing token throws (Hugging Face behaviour);
    /// otherwise it is skipped (llama.cpp behaviour).
    static func mergeTable(_ merges: [(Substring, Substring)], vocabulary: Vocabulary, strict: Bool) throws -> MergeTable {
        var table = MergeTable(capacity: max(merges.count, 1))
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocabulary.id(of: String(left)), let rightID = vocabulary.id(of: String(right)),
                  let mergedID = vocabulary.id(of: String(left) + String(right)) else {
                if strict {
                    let missing = [String(left), String(right), String(left) + String(right)]
                        .first { vocabulary.id(of: $0) == nil } ?? String(left)
                    throw TokenizerError.mergeTokenNotInVocabulary(missing)
                }
                continue
            }
            table.insert(left: Int32(leftID), right: Int32(rightID), rank: Int32(rank), merged: Int32(mergedID))
        }
        return table
    }

    /// Splits a merge line `"a b"` at the first space after its first character.
    static func splitMergeLine(_ line: String) -> (Substring, Substring)? {
        guard let first = line.indices.first else { return nil }
        guard let space = line[line.index(after: first)...].firstIndex(of: " ") else { return nil }
        return (line[..<space], line[line.index(after: space)...])
    }

    /// Ids of the one-byte tokens of the byte-level alphabet, per byte (-1 where missing).
    static func byteLevelSymbols(_ vocabulary: Vocabulary) -> [Int32] {
        (0..<256).map { byte in
            let text = ByteLevelMapping.encode(CollectionOfOne(UInt8(byte)))
            return vocabulary.id(of: text).map { Int32($0) } ?? -1
        }
    }

    /// Raw bytes of every normal byte-level token → id, for whole-piece lookups (`ignore_merges`).
    static func byteLevelWholePieces(_ vocabulary: Vocabulary) -> ByteStringTable {
        var table = ByteStringTable(capacity: vocabulary.count)
        for id in 0..<vocabulary.count where vocabulary.kinds[id] == .normal {
            if let raw = ByteLevelMapping.decode(vocabulary.texts[id][...]) {
                table.insert(raw, id: Int32(id))
            }
        }
        return table
    }
}
