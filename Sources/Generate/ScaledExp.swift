import Foundation

/// exp((x − shift) × scale) over a buffer: the unnormalised softmax weights of temperature-scaled logits.
/// A NaN weight (from a NaN logit, or infinity minus infinity) counts as 0.
enum ScaledExp {
    /// Writes the weights of `logits` to `weights` (same count) and returns their sum in Double.
    static func weights(
        of logits: UnsafeBufferPointer<Float>, shift: Float, scale: Float, into weights: UnsafeMutableBufferPointer<Float>
    ) -> Double {
        var total = 0.0
        for i in 0..<logits.count {
            let e = Foundation.exp((logits[i] - shift) * scale)
            let w = e > 0 ? e : 0  // NaN (from NaN or infinite logits) counts as 0
            weights[i] = w
            total += Double(w)
        }
        return total
    }

    /// The sum of the weights of `logits`, without storing them.
    static func sum(of logits: UnsafeBufferPointer<Float>, shift: Float, scale: Float) -> Double {
        var total = 0.0
        for i in 0..<logits.count {
            let e = Foundation.exp((logits[i] - shift) * scale)
            total += Double(e > 0 ? e : 0)
        }
        return total
    }

    /// The largest non-NaN logit (−infinity when there is none).
    static func maximum(of logits: UnsafeBufferPointer<Float>) -> Float {
        var best = -Float.infinity
        for value in logits where value > best { best = value }
        return best
    }
}
