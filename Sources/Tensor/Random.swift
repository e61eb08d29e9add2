import Foundation

/// A seeded, reproducible random number generator (xoshiro256**, seeded through SplitMix64).
///
/// Its whole state is `Codable`, so a training checkpoint can store it and a resumed run draws
/// exactly the numbers an uninterrupted one would have.
public struct SeededRandom: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var s0, s1, s2, s3: UInt64

    /// Creates a generator whose sequence is fully determined by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A generator for an independent stream derived from this one's seed and `stream`.
    public func derived(stream: UInt64) -> SeededRandom {
        var copy = self
        return SeededRandom(seed: copy.next() ^ (stream &* 0x9E37_79B9_7F4A_7C15))
    }
}

extension Tensor {
    /// Uniform samples in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, using rng: inout SeededRandom) -> Tensor {
        Tensor.build(shape) { buf in
            for i in buf.indices { buf[i] = low + (high - low) * rng.nextUniform() }
        }
    }

    /// Normal samples with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededRandom) -> Tensor {
        Tensor.build(shape) { buf in
            for i in buf.indices { buf[i] = mean + std * rng.nextNormal() }
        }
    }

    /// Kaiming-uniform init for a `[out, in]` weight, PyTorch's `kaiming_uniform_(a:)` with
    /// fan-in = `shape.last`: bound = gain·√(3/fan_in), gain = √(2/(1+a²)). `a = √5` is
    /// `nn.Linear`'s and PEFT's LoRA-A default.
    public static func kaimingUniform(_ shape: [Int], a: Float = Float(5).squareRoot(), using rng: inout SeededRandom) -> Tensor {
        let fanIn = Float(shape.last ?? 1)
        let gain = (2 / (1 + a * a)).squareRoot()
        let bound = gain * (3 / fanIn).squareRoot()
        return uniform(shape, low: -bound, high: bound, using: &rng)
    }
}
