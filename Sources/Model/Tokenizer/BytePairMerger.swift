/// Rank-based BPE merging, as in Hugging Face `tokenizers` and llama.cpp's BPE: repeatedly join the
/// adjacent pair whose merge rule has the lowest rank, the leftmost one on ties, until no pair has a rule.
struct BytePairMerger {
    /// Words up to this many symbols use the quadratic scan; longer ones use a heap.
    static let scanLimit = 48

    private var pairValues: [UInt64] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap = MinHeap<UInt64>()

    /// Merges `symbols` in place.
    mutating func merge(_ symbols: inout [Int32], _ merges: MergeTable) {
        if symbols.count < 2 { return }
        if symbols.count <= Self.scanLimit {
            mergeByScan(&symbols, merges)
        } else {
            mergeWithHeap(&symbols, merges)
        }
    }

    /// Small words: keep the value of each adjacent pair and rescan for the minimum.
    mutating func mergeByScan(_ symbols: inout [Int32], _ merges: MergeTable) {
        var count = symbols.count
        pairValues.removeAll(keepingCapacity: true)
        for index in 0..<(count - 1) {
            pairValues.append(merges.lookup(symbols[index], symbols[index + 1]))
        }
        symbols.withUnsafeMutableBufferPointer { symbols in
            pairValues.withUnsafeMutableBufferPointer { pairs in
                while count > 1 {
                    var best = 0
                    var bestValue = pairs[0]
                    for index in 1..<(count - 1) where pairs[index] < bestValue {
                        bestValue = pairs[index]
                        best = index
                    }
                    if bestValue == MergeTable.none { break }
                    symbols[best] = MergeTable.mergedID(bestValue)
                    // Remove symbol best+1 and pair best.
                    var index = best + 1
                    while index < count - 1 {
                        symbols[index] = symbols[index + 1]
                        index += 1
                    }
                    index = best
                    while index < count - 2 {
                        pairs[index] = pairs[index + 1]
                        index += 1
                    }
                    count -= 1
                    if best > 0 { pairs[best - 1] = merges.lookup(symbols[best - 1], symbols[best]) }
                    if best < count - 1 { pairs[best] = merges.lookup(symbols[best], symbols[best + 1]) }
                }
            }
        }
        symbols.removeLast(symbols.count - count)
    }

    /// Long words: a linked list of symbols and a min-heap of candidate merges keyed by
    /// `rank << 32 | position`; stale entries are skipped when popped.
    mutating func mergeWithHeap(_ symbols: inout [Int32], _ merges: MergeTable) {
        let count = symbols.count
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll()
        for index in 0..<count {
            previous.append(Int32(index - 1))
            next.append(index + 1 < count ? Int32(index + 1) : -1)
        }
        for index in 0..<(count - 1) {
            pushPair(at: index, symbols[index], symbols[index + 1], merges)
        }
        while let entry = heap.popMinimum() {
            let position = Int(UInt32(truncatingIfNeeded: entry))
            let rank = UInt32(truncatingIfNeeded: entry >> 32)
            let right = next[position]
            if symbols[position] < 0 || right < 0 { continue }
            let value = merges.lookup(symbols[position], symbols[Int(right)])
            if value == MergeTable.none || MergeTable.rank(value) != rank { continue }  // stale
            symbols[position] = MergeTable.mergedID(value)
            symbols[Int(right)] = -1
            let after = next[Int(right)]
            next[position] = after
            if after >= 0 { previous[Int(after)] = Int32(position) }
            let before = previous[position]
            if before >= 0 { pushPair(at: Int(before), symbols[Int(before)], symbols[position], merges) }
            if after >= 0 { pushPair(at: position, symbols[position], symbols[Int(after)], merges) }
        }
        var write = 0
        for index in 0..<count where symbols[index] >= 0 {
            symbols[write] = symbols[index]
            write += 1
        }
        symbols.removeLast(count - write)
    }

    private mutating func pushPair(at position: Int, _ left: Int32, _ right: Int32, _ merges: MergeTable) {
        let value = merges.lookup(left, right)
        if value == MergeTable.none { return }
        heap.push(UInt64(MergeTable.rank(value)) << 32 | UInt64(position))
    }

}
