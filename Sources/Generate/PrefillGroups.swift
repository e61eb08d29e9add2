/// How a ``BatchScheduler`` splits the prompts it admits at once into prefill passes: prompts of
/// similar lengths share one left-padded forward pass, so padding stays a small part of the work
/// and the pass's attention scores stay bounded.
enum PrefillGroups {
    /// Most padded tokens (rows × longest prompt) in one pass; a longer prompt runs alone.
    static let maxPaddedTokens = 2048
    /// Largest share of padding a group may add, relative to its real tokens.
    static let maxPaddingShare = 0.25

    /// Groups of indices into `lengths` (prompt lengths, each ≥ 1): every index exactly once, each
    /// group sorted by length; groups in order of their shortest prompt.
    static func split(lengths: [Int]) -> [[Int]] {
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        var groups: [[Int]] = []
        var current: [Int] = []
        var realTokens = 0
        for i in order {
            // Sorted ascending: the newcomer is the group's longest prompt.
            let longest = lengths[i]
            let padded = longest * (current.count + 1)
            let real = realTokens + longest
            let fits = padded <= maxPaddedTokens && Double(padded - real) <= maxPaddingShare * Double(real)
            if !current.isEmpty && !fits {
                groups.append(current)
                current = []
                realTokens = 0
            }
            current.append(i)
            realTokens += longest
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }
}
