/// Top-p over a whole vocabulary without sorting it.
///
/// Tokens are bucketed by their scaled logit distance from the best one, d = (max − logit) / T, into
/// `bucketCount` equal-width buckets plus one overflow bucket. Since every token of an earlier bucket
/// outranks every token of a later one, the probability mass ranked above a token is known up to its own
/// bucket: buckets wholly inside the nucleus are kept, later ones dropped, and only the bucket where the
/// cumulative mass crosses top-p is sorted to place the exact boundary.
enum NucleusSearch {
    static let bucketCount = 4096

    /// Writes the tokens of the nucleus of `logits` (unsorted) to `out` and returns how many.
    ///
    /// A token is kept when the probability mass ranked strictly above it (higher logit, or equal logit and
    /// lower id) is below `topP`; the best token is always kept. `weights` and `buckets` (≥ logits.count)
    /// and `masses` (≥ bucketCount + 1) are scratch. `top` is the largest logit, `lowest` the smallest
    /// finite one.
    static func nucleus(
        of logits: UnsafeBufferPointer<Float>, top: Float, lowest: Float, topP: Float, inverseTemperature: Float,
        weights: UnsafeMutableBufferPointer<Float>, buckets: UnsafeMutableBufferPointer<Int32>,
        masses: UnsafeMutableBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Candidate>
    ) -> Int {
        let count = logits.count
        let total = VectorMath.weights(of: logits.baseAddress!, count: count, shift: top, scale: inverseTemperature,
                                       into: weights.baseAddress!)
        let target = Double(topP) * total

        // Bucket width adapts to the spread of the row (capped at d = 32, where weights are < 1.3e-14).
        let span = min((top - lowest) * inverseTemperature, 32)
        let perUnit = span > 0 ? Float(bucketCount) / span : 0
        VectorMath.bucketIndices(of: logits, top: top, scale: inverseTemperature * perUnit,
                                 limit: Int32(bucketCount), into: buckets.baseAddress!)

        for b in 0...bucketCount { masses[b] = 0 }
        for i in 0..<count { masses[Int(buckets[i])] += Double(weights[i]) }

        var above = 0.0  // mass of the buckets before the boundary one
        var boundary = 0
        while boundary < bucketCount && above + masses[boundary] < target {
            above += masses[boundary]
            boundary += 1
        }

        // Kept buckets go to the front of `out`; the boundary bucket to the back, to be sorted.
        let boundaryBucket = Int32(boundary)
        var kept = 0
        var tail = count
        for i in 0..<count {
            let b = buckets[i]
            if b < boundaryBucket {
                out[kept] = Candidate(logit: logits[i], id: Int32(i))
                kept += 1
            } else if b == boundaryBucket {
                tail -= 1
                out[tail] = Candidate(logit: logits[i], id: Int32(i))
            }
        }
        var boundaryTokens = UnsafeMutableBufferPointer(rebasing: out[tail..<count])
        boundaryTokens.reverse()  // collected in descending id order; restore ascending ids
        if !isSortedBestFirst(boundaryTokens) {
            CandidateSelection.heapify(boundaryTokens, count: boundaryTokens.count)
            CandidateSelection.sortHeapBestFirst(boundaryTokens, count: boundaryTokens.count)
        }
        for (rank, candidate) in boundaryTokens.enumerated() {
            if (kept > 0 || rank > 0) && above >= target { break }
            above += Double(weights[Int(candidate.id)])
            out[kept] = candidate  // kept ≤ tail + rank: moving towards the front never overwrites unread items
            kept += 1
        }
        return kept
    }

    private static func isSortedBestFirst(_ candidates: UnsafeMutableBufferPointer<Candidate>) -> Bool {
        guard candidates.count > 1 else { return true }
        for i in 1..<candidates.count where candidates[i - 1].ranksBelow(candidates[i]) { return false }
        return true
    }
}
