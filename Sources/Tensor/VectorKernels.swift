import CKernels

/// The C kernels that higher modules call on raw buffers (optimizer updates, norms), so they need
/// no dependency on `CKernels` themselves.
public enum VectorKernels {
    /// One AdamW step (PyTorch's formulation) over `count` weights in place: moments `m`, `v` are
    /// updated; `biasCorrection1/2` are 1 − β₁ᵗ and 1 − β₂ᵗ.
    public static func adamW(weights: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                             firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
                             count: Int, learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
                             biasCorrection1: Float, biasCorrection2: Float) {
        tk_adamw(weights, gradients, m, v, count, learningRate, beta1, beta2, epsilon, weightDecay, biasCorrection1, biasCorrection2)
    }

    /// Σ xᵢ² over `count` values.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float { tk_sum_squares(x, count) }
}
