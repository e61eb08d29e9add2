/// A token id with its (penalised, unscaled) logit, as the sampler's filters pass them around.
struct Candidate: Sendable, Equatable {
    var logit: Float
    var id: Int32

    /// Ranking used everywhere: higher logit first, equal logits by lower id first.
    @inline(__always)
    func ranksBelow(_ other: Candidate) -> Bool {
        logit < other.logit || (logit == other.logit && id > other.id)
    }
}

/// Partial selection and sorting of candidates in caller-provided buffers (no allocation).
///
/// The heaps here keep the *worst*-ranked candidate at the root, so a full vocabulary can be scanned
/// against the root with a single comparison per token.
enum CandidateSelection {
    /// The `count` best tokens of `logits` by `Candidate.ranksBelow` order, written sorted best-first to
    /// `out[0..<n]` (n = min(count, logits.count)). NaN logits rank as -infinity.
    ///
    /// Also reports whether some token that was left out has the same logit as the last kept one (a tie at
    /// the boundary), which top-k must then keep too.
    static func selectBest(
        _ count: Int, of logits: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Candidate>
    ) -> (count: Int, boundaryTie: Bool) {
        let n = min(count, logits.count)
        guard n > 0 else { return (0, false) }
        for i in 0..<n {
            let value = logits[i]
            out[i] = Candidate(logit: value.isNaN ? -.infinity : value, id: Int32(i))
        }
        heapify(out, count: n)
        var rootLogit = out[0].logit
        var maxDropped = -Float.infinity
        var droppedLanes = VectorMath.Lanes(repeating: -.infinity)
        let base = logits.baseAddress!  // non-empty: n > 0
        var i = n
        while i < logits.count {
            let end = min(i + VectorMath.width, logits.count)
            if end - i == VectorMath.width {
                let rootLanes = VectorMath.Lanes(repeating: rootLogit)
                // Most chunks hold nothing above the current worst kept token: skip them in one comparison.
                let chunk = VectorMath.load(base, i)
                if !any(chunk .> rootLanes) {  // NaN lanes compare false
                    droppedLanes = droppedLanes.replacing(with: chunk, where: chunk .> droppedLanes)
                    i = end
                    continue
                }
            }
            while i < end {
                let value = logits[i]
                if value > rootLogit {  // a later id with an equal logit ranks lower: strict comparison
                    maxDropped = max(maxDropped, out[0].logit)
                    out[0] = Candidate(logit: value, id: Int32(i))
                    siftDown(out, from: 0, count: n)
                    rootLogit = out[0].logit
                } else if value > maxDropped {  // false for NaN
                    maxDropped = value
                }
                i += 1
            }
        }
        maxDropped = max(maxDropped, VectorMath.laneMaximum(droppedLanes))
        sortHeapBestFirst(out, count: n)
        return (n, logits.count > n && maxDropped == out[n - 1].logit)
    }

    /// Writes every token whose logit is ≥ `threshold` (and finite or +inf) to `out`, sorted best-first;
    /// returns how many.
    static func collectAtLeast(
        _ threshold: Float, of logits: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Candidate>
    ) -> Int {
        var n = 0
        for i in 0..<logits.count {
            let value = logits[i]
            if value >= threshold && value > -.infinity {
                out[n] = Candidate(logit: value, id: Int32(i))
                n += 1
            }
        }
        heapify(out, count: n)
        sortHeapBestFirst(out, count: n)
        return n
    }

    /// Arranges `heap[0..<count]` so the worst-ranked candidate is at the root.
    static func heapify(_ heap: UnsafeMutableBufferPointer<Candidate>, count: Int) {
        var start = count / 2 - 1
        while start >= 0 {
            siftDown(heap, from: start, count: count)
            start -= 1
        }
    }

    /// Heap sort: turns a worst-at-root heap into a best-first sorted run.
    static func sortHeapBestFirst(_ heap: UnsafeMutableBufferPointer<Candidate>, count: Int) {
        var end = count - 1
        while end > 0 {
            heap.swapAt(0, end)
            siftDown(heap, from: 0, count: end)
            end -= 1
        }
    }

    @inline(__always)
    static func siftDown(_ heap: UnsafeMutableBufferPointer<Candidate>, from start: Int, count: Int) {
        var parent = start
        let item = heap[parent]
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count && heap[child + 1].ranksBelow(heap[child]) { child += 1 }
            if !heap[child].ranksBelow(item) { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = item
    }
}
