import Foundation

/// bitsandbytes' dynamic 8-bit data type (`create_dynamic_map`), reproduced value for value:
/// a sign, a run of zero bits giving a decimal exponent, and a linear fraction in what remains.
/// It is the code of double-quantized absmax values and of 8-bit optimizer state.
public enum DynamicQuantizationMap {
    /// The 256 sorted values of `create_dynamic_map(signed: true)` (the default, 7 exponent bits).
    public static let signed: [Float] = make(signed: true)

    /// The 256 sorted values of `create_dynamic_map(signed: false)`.
    public static let unsigned: [Float] = make(signed: false)

    /// Builds the map as bitsandbytes does, in Float32: `torch.linspace(0.1, 1, k)` boundaries,
    /// their midpoints scaled by 10^(i − 6).
    static func make(signed: Bool, maxExponentBits: Int = 7, totalBits: Int = 8) -> [Float] {
        var data: [Float] = []
        let nonSignBits = totalBits - 1
        let additional = (1 << (nonSignBits - maxExponentBits)) - 1
        func addScaledMeans(count: Int, exponent: Int) {
            let boundaries = linspace(0.1, 1, count)
            let scale = Float(pow(10.0, Double(exponent)))
            let means = (0..<(count - 1)).map { (boundaries[$0] + boundaries[$0 + 1]) / 2 }
            data += means.map { scale * $0 }
            if signed { data += means.map { -scale * $0 } }
        }
        for i in 0..<maxExponentBits {
            let items = signed ? (1 << (i + nonSignBits - maxExponentBits)) + 1 : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1
            addScaledMeans(count: items, exponent: -(maxExponentBits - 1) + i)
        }
        if additional > 0 { addScaledMeans(count: additional + 1, exponent: -(maxExponentBits - 1) + maxExponentBits - 1) }
        data += [0, 1]
        data += [Float](repeating: 0, count: max(0, 256 - data.count))
        return data.sorted()
    }

    /// `torch.linspace` in Float32 on the CPU: from the start in the first half, from the end in
    /// the second, each a fused multiply-add of the Float32 step.
    static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return steps == 1 ? [start] : [] }
        let step = (end - start) / Float(steps - 1), half = steps / 2
        return (0..<steps).map { i in
            i < half ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - 1 - i))
        }
    }
}
