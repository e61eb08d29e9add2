import Tensor
import XCTest

/// Dropout draws from Tailor's own generator, so it cannot match torch element for element; these
/// tests check the properties torch's `F.dropout(training=True)` has: shape, the fraction dropped,
/// the 1/(1−p) scaling, an unbiased mean, a gradient with the same mask, and determinism per seed.
final class DropoutPropertyTests: XCTestCase {
    func testDropoutStatisticsAndGradient() throws {
        let n = 200_000, p: Float = 0.3
        var rng = SeededRandom(seed: 42)
        let x = Tensor.uniform([4, n / 4], low: 0.5, high: 1.5, using: &rng)
        let param = Parameter(x)
        var dropRNG = SeededRandom(seed: 7)
        let y = param.tensor.dropout(p, using: &dropRNG)
        XCTAssertEqual(y.shape, x.shape)

        let xs = x.scalars, ys = y.scalars
        var zeros = 0, badScale = 0, sumX = 0.0, sumY = 0.0
        for i in 0..<n {
            sumX += Double(xs[i]); sumY += Double(ys[i])
            if ys[i] == 0 { zeros += 1 } else if abs(ys[i] - xs[i] / (1 - p)) > 1e-6 * ys[i] {
                badScale += 1  // kept elements are scaled by 1/(1−p), up to rounding
            }
        }
        XCTAssertEqual(badScale, 0, "kept elements not scaled by 1/(1-p)")
        // Binomial(n, p): σ of the dropped fraction is √(p(1−p)/n) ≈ 0.001; allow 5σ.
        XCTAssertEqual(Double(zeros) / Double(n), Double(p), accuracy: 5 * (Double(p * (1 - p)) / Double(n)).squareRoot())
        XCTAssertEqual(sumY / sumX, 1, accuracy: 0.01, "inverted dropout keeps the mean")

        // Gradient of sum(y ⊙ g) is g ⊙ mask / (1−p) on exactly the kept elements.
        let g = Tensor.normal(x.shape, using: &rng)
        let grads = (y * g).sum().gradients()
        let dx = try XCTUnwrap(grads[param]).scalars, gs = g.scalars
        var badGrad = 0
        for i in 0..<n {
            let expected: Float = ys[i] == 0 ? 0 : gs[i] / (1 - p)
            if abs(dx[i] - expected) > 1e-6 * max(1, abs(expected)) { badGrad += 1 }
        }
        XCTAssertEqual(badGrad, 0, "dropout gradient does not follow the forward mask")

        // Same seed → same mask; different seed → different mask.
        var again = SeededRandom(seed: 7), other = SeededRandom(seed: 8)
        XCTAssertEqual(x.dropout(p, using: &again).scalars, ys)
        XCTAssertNotEqual(x.dropout(p, using: &other).scalars, ys)
    }

    func testDropoutZeroIsIdentity() {
        var rng = SeededRandom(seed: 1)
        let x = Tensor.normal([3, 5], using: &rng)
        var d = SeededRandom(seed: 2)
        let before = d
        XCTAssertEqual(x.dropout(0, using: &d).scalars, x.scalars)
        XCTAssertEqual(d, before, "p = 0 draws no random numbers")
    }
}
