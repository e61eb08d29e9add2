/// Vectorised scans over a logits row (8 lanes at a time) for the sampler's hot loops.
///
/// Written with lane comparisons and `replacing(with:where:)` only: those compile to inline SSE code,
/// whereas the standard library's generic SIMD helpers (`pointwiseMax`, `sum()`, `clamped`) end up as
/// calls per chunk. NaN logits are treated as −infinity everywhere here: they never win a maximum and get
/// weight 0.
enum VectorMath {
    typealias Lanes = SIMD8<Float>
    static let width = Lanes.scalarCount

    @inline(__always)
    static func load(_ base: UnsafePointer<Float>, _ i: Int) -> Lanes {
        UnsafeRawPointer(base + i).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    static func store(_ value: Lanes, _ base: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(base + i).storeBytes(of: value, as: Lanes.self)
    }

    /// The largest lane (NaN lanes ignored).
    @inline(__always)
    static func laneMaximum(_ x: Lanes) -> Float {
        var best = x[0]
        for j in 1..<width where x[j] > best { best = x[j] }
        return best
    }

    /// The sum of the lanes.
    @inline(__always)
    static func laneSum(_ x: Lanes) -> Float {
        ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]))
    }

    /// The largest non-NaN value (−infinity when there is none).
    static func maximum(_ x: UnsafeBufferPointer<Float>) -> Float {
        guard let base = x.baseAddress else { return -.infinity }
        var lanes = Lanes(repeating: -.infinity)
        var i = 0
        while i + width <= x.count {
            let v = load(base, i)
            lanes = lanes.replacing(with: v, where: v .> lanes)  // false for NaN
            i += width
        }
        var best = laneMaximum(lanes)
        while i < x.count {
            if x[i] > best { best = x[i] }
            i += 1
        }
        return best
    }

    /// The largest non-NaN value and the smallest finite one (−infinity / +infinity when there is none).
    static func extrema(_ x: UnsafeBufferPointer<Float>) -> (maximum: Float, lowestFinite: Float) {
        guard let base = x.baseAddress else { return (-.infinity, .infinity) }
        var high = Lanes(repeating: -.infinity)
        var low = Lanes(repeating: .infinity)
        let minusInfinity = Lanes(repeating: -.infinity)
        var i = 0
        while i + width <= x.count {
            let v = load(base, i)
            high = high.replacing(with: v, where: v .> high)
            low = low.replacing(with: v, where: (v .< low) .& (v .> minusInfinity))
            i += width
        }
        var best = laneMaximum(high)
        var least = -laneMaximum(-low)
        while i < x.count {
            if x[i] > best { best = x[i] }
            if x[i] < least && x[i] > -.infinity { least = x[i] }
            i += 1
        }
        return (best, least)
    }

    /// The first index holding the largest non-NaN value, or nil when every value is −infinity or NaN.
    static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int? {
        let best = maximum(x)
        guard best > -.infinity, let base = x.baseAddress else { return nil }
        let bestLanes = Lanes(repeating: best)
        var i = 0
        while i + width <= x.count {
            if any(load(base, i) .== bestLanes) { break }
            i += width
        }
        while i < x.count {
            if x[i] == best { return i }
            i += 1
        }
        return nil
    }

    /// exp(x) for x ≤ 88 (Cephes `expf` polynomial, relative error ≈ 1.2e-7); x below −87.3 (including
    /// −infinity) and NaN give exactly 0.
    @inline(__always)
    static func exp(_ x: Lanes) -> Lanes {
        let low = Lanes(repeating: -87.3)
        let high = Lanes(repeating: 88.3)
        let underflow = .!(x .>= low)  // also true for NaN
        var clamped = x.replacing(with: low, where: underflow)
        clamped = clamped.replacing(with: high, where: clamped .> high)
        // Round x·log2(e) to the nearest integer n with the 1.5·2²³ trick: the integer lands in the low bits.
        let magic = Lanes(repeating: 12_582_912)
        let shifted = clamped * Lanes(repeating: 1.442_695_04) + magic
        let n = shifted - magic
        var r = clamped - n * Lanes(repeating: 0.693_359_375)
        r = r - n * Lanes(repeating: -2.121_944_4e-4)
        var p = Lanes(repeating: 1.987_569_15e-4)
        p = p * r + Lanes(repeating: 1.398_199_95e-3)
        p = p * r + Lanes(repeating: 8.333_451_9e-3)
        p = p * r + Lanes(repeating: 4.166_579_59e-2)
        p = p * r + Lanes(repeating: 1.666_666_55e-1)
        p = p * r + Lanes(repeating: 5.000_000_12e-1)
        p = p * (r * r) + r + Lanes(repeating: 1)
        let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((exponent &+ SIMD8(repeating: 127)) &<< SIMD8(repeating: 23), to: Lanes.self)
        return (p * scale).replacing(with: Lanes(), where: underflow)
    }

    /// Writes w[i] = exp((x[i] − shift) × scale) to `weights` and returns Σ w in Double.
    /// `weights` may be the very buffer `x` points to (in-place).
    static func weights(
        of x: UnsafePointer<Float>, count: Int, shift: Float, scale: Float, into weights: UnsafeMutablePointer<Float>
    ) -> Double {
        let shiftLanes = Lanes(repeating: shift)
        let scaleLanes = Lanes(repeating: scale)
        var total = 0.0
        var i = 0
        while i + width <= count {
            // Lane sums stay in Float for at most 16 chunks, then move to the Double total.
            var partial = Lanes()
            let end = min(i + 16 * width, count - count % width)
            while i < end {
                let w = exp((load(x, i) - shiftLanes) * scaleLanes)
                store(w, weights, i)
                partial += w
                i += width
            }
            total += Double(laneSum(partial))
        }
        while i < count {
            let w = exp(Lanes(repeating: (x[i] - shift) * scale))[0]
            weights[i] = w
            total += Double(w)
            i += 1
        }
        return total
    }

    /// Σ exp(x[i] − shift) in Double, without storing the terms (the log-sum-exp of log-probabilities).
    static func sumOfExponentials(_ x: UnsafeBufferPointer<Float>, shift: Float) -> Double {
        guard let base = x.baseAddress else { return 0 }
        let shiftLanes = Lanes(repeating: shift)
        var total = 0.0
        var i = 0
        while i + width <= x.count {
            // As in `weights`: lane sums stay in Float for at most 16 chunks, then move to the Double total.
            var partial = Lanes()
            let end = min(i + 16 * width, x.count - x.count % width)
            while i < end {
                partial += exp(load(base, i) - shiftLanes)
                i += width
            }
            total += Double(laneSum(partial))
        }
        while i < x.count {
            total += Double(exp(Lanes(repeating: x[i] - shift))[0])
            i += 1
        }
        return total
    }

    /// Bucket numbers round((top − x[i]) × scale) for x[i] within `limit` buckets of `top`, and `limit` for
    /// everything further (including −infinity and NaN), written to `buckets`. Non-decreasing as x decreases.
    static func bucketIndices(
        of x: UnsafeBufferPointer<Float>, top: Float, scale: Float, limit: Int32, into buckets: UnsafeMutablePointer<Int32>
    ) {
        guard let base = x.baseAddress else { return }
        let topLanes = Lanes(repeating: top)
        let scaleLanes = Lanes(repeating: scale)
        let limitLanes = Lanes(repeating: Float(limit))
        let magic = Lanes(repeating: 12_582_912)
        var i = 0
        while i + width <= x.count {
            var q = (topLanes - load(base, i)) * scaleLanes
            q = q.replacing(with: limitLanes, where: .!(q .< limitLanes))  // far, −infinity and NaN
            q = q.replacing(with: Lanes(), where: q .< Lanes())
            let rounded = unsafeBitCast(q + magic, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
            UnsafeMutableRawPointer(buckets + i).storeBytes(of: rounded, as: SIMD8<Int32>.self)
            i += width
        }
        while i < x.count {
            let q = (top - x[i]) * scale
            buckets[i] = q < Float(limit) ? Int32(max(q, 0).rounded(.toNearestOrEven)) : limit
            i += 1
        }
    }

    /// The first index whose running sum of `weights` exceeds `target` (the last positive weight if rounding
    /// leaves `target` at or past the total).
    static func firstIndexExceeding(_ target: Double, runningSumOf weights: UnsafeBufferPointer<Float>) -> Int {
        guard let base = weights.baseAddress else { return 0 }
        var running = 0.0
        var i = 0
        while i + width <= weights.count {
            let chunk = Double(laneSum(load(base, i)))
            if running + chunk > target { break }
            running += chunk
            i += width
        }
        while i < weights.count {
            running += Double(weights[i])
            if running > target && weights[i] > 0 { return i }
            i += 1
        }
        var last = weights.count - 1  // rounding left target past the sum: take the last positive weight
        while last > 0 && !(weights[last] > 0) { last -= 1 }
        return last
    }
}
