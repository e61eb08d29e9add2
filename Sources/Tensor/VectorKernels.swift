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

/// The constants of one 8-bit AdamW update (bitsandbytes' blockwise formulation), as Float32.
public struct AdamW8bitStep: Sendable {
    /// Moment decays and one minus them.
    public var beta1, beta2, oneMinusBeta1, oneMinusBeta2: Float
    /// 1 − lr·weight_decay, applied when `decays`.
    public var decay: Float
    /// Whether weight decay applies.
    public var decays: Bool
    /// −lr / (1 − beta1^t).
    public var stepSize: Float
    /// √(1 − beta2^t).
    public var correction2: Float
    /// Added to the denominator.
    public var epsilon: Float
    /// Every gradient is multiplied by this first.
    public var gradientScale: Float

    /// A step's constants.
    public init(beta1: Float, beta2: Float, oneMinusBeta1: Float, oneMinusBeta2: Float, decay: Float, decays: Bool,
                stepSize: Float, correction2: Float, epsilon: Float, gradientScale: Float) {
        (self.beta1, self.beta2, self.oneMinusBeta1, self.oneMinusBeta2) = (beta1, beta2, oneMinusBeta1, oneMinusBeta2)
        (self.decay, self.decays, self.stepSize, self.correction2, self.epsilon, self.gradientScale) =
            (decay, decays, stepSize, correction2, epsilon, gradientScale)
    }
}

extension VectorKernels {
    /// 8-bit AdamW on blocks `blocks` of `blockSize` (≤ 256) values out of `count`: decodes both
    /// moments (code[c] · absmax), updates them and the weights, and encodes them again through the
    /// 65536-entry tables; evaluated exactly as bitsandbytes' CPU update is written.
    public static func adamW8bitBlocks(weights: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                                       codes1: UnsafeMutablePointer<UInt8>, absmax1: UnsafeMutablePointer<Float>,
                                       codes2: UnsafeMutablePointer<UInt8>, absmax2: UnsafeMutablePointer<Float>,
                                       code1: UnsafePointer<Float>, code2: UnsafePointer<Float>,
                                       table1: UnsafePointer<UInt8>, table2: UnsafePointer<UInt8>,
                                       count: Int, blockSize: Int, blocks: Range<Int>, step: AdamW8bitStep) {
        precondition(blockSize > 0 && blockSize <= 256, "adamW8bitBlocks: block size \(blockSize) outside 1…256")
        var settings = tk_adamw8bit_settings(
            beta1: step.beta1, beta2: step.beta2, one_minus_beta1: step.oneMinusBeta1, one_minus_beta2: step.oneMinusBeta2,
            decay: step.decay, decays: step.decays ? 1 : 0, step_size: step.stepSize, correction2: step.correction2,
            eps: step.epsilon, gradient_scale: step.gradientScale)
        tk_adamw8bit_blocks(weights, gradients, codes1, absmax1, codes2, absmax2, code1, code2, table1, table2,
                            count, blockSize, blocks.lowerBound, blocks.upperBound, &settings)
    }
}
