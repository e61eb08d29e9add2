/// The two 4-bit data types of bitsandbytes: 16 values in [-1, 1] a block's elements are
/// rounded to after dividing by the block's absolute maximum.
public enum FourBitType: String, Sendable, CaseIterable {
    /// NormalFloat4: quantiles of a standard normal (QLoRA), listed in increasing order.
    case nf4
    /// bitsandbytes' FP4 (1 sign, 2 exponent, 1 mantissa bit), listed in bit-pattern order.
    case fp4

    /// The 16 code values, indexed by the 4-bit code (bitsandbytes' `get_4bit_type`).
    public var codeValues: [Float] {
        switch self {
        case .nf4:
            return [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]
        case .fp4:
            // Magnitude bit patterns 0b000…0b111, then the same with the sign bit, divided by the
            // largest; code 8 is +0 as in bitsandbytes.
            let values: [Float] = [0, 0.0625, 8, 12, 4, 6, 2, 3, 0, -0.0625, -8, -12, -4, -6, -2, -3]
            return values.map { $0 / 12 }
        }
    }

    /// Codes ordered by value (a stable sort, as `torch.argsort` orders the two zeros of FP4).
    var codesByValue: [UInt8] {
        let values = codeValues
        return (0..<16).sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }.map(UInt8.init)
    }

    /// Midpoints between consecutive values in value order: an element goes to the first bucket
    /// whose upper midpoint is ≥ it (`torch.bucketize`, right = false).
    var bucketBounds: [Float] {
        let values = codeValues, order = codesByValue
        return (0..<15).map { (values[Int(order[$0])] + values[Int(order[$0 + 1])]) / 2 }
    }
}
