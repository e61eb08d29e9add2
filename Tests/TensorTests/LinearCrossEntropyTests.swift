import XCTest
import Tensor

/// The chunked head + cross-entropy against the two ops it fuses: same loss, same gradients, for
/// every chunk size, with ignored rows, an explicit normalizer, a frozen weight, and without recording.
final class LinearCrossEntropyTests: XCTestCase {
    private func randn(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.normal(shape, std: 1, using: &rng)
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testMatchesCrossEntropyOfLinear() {
        let targets: [Int32] = [4, -100, 0, 12, 7, 7, -100, 1, 9]
        for chunk in [1, 2, 4, 9, 64] {
            for normalizer in [nil, Float(20)] {
                let h = Parameter(randn([3, 3, 5], seed: 1)), w = Parameter(randn([13, 5], seed: 2))
                let reference = Tensor.crossEntropy(logits: Tensor.linear(h.tensor.reshaped([9, 5]), weight: w.tensor),
                                                    targets: targets, normalizer: normalizer) * 0.5
                let fused = Tensor.linearCrossEntropy(h.tensor, weight: w.tensor, targets: targets, normalizer: normalizer,
                                                      chunkRows: chunk) * 0.5
                XCTAssertEqual(fused.item, reference.item, accuracy: 1e-5, "chunk \(chunk)")
                let gr = reference.gradients(), gf = fused.gradients()
                guard let ghr = gr[h], let ghf = gf[h], let gwr = gr[w], let gwf = gf[w] else { return XCTFail("missing gradients") }
                XCTAssertEqual(ghf.shape, [3, 3, 5])
                XCTAssertLessThan(maxDifference(ghf, ghr), 1e-5, "hidden gradient, chunk \(chunk)")
                XCTAssertLessThan(maxDifference(gwf, gwr), 1e-5, "weight gradient, chunk \(chunk)")
            }
        }
    }

    func testFrozenWeightGetsNoGradient() {
        let h = Parameter(randn([4, 5], seed: 3)), w = Parameter(randn([7, 5], seed: 4), trainable: false)
        let grads = Tensor.linearCrossEntropy(h.tensor, weight: w.tensor, targets: [1, 2, 3, 6], chunkRows: 3).gradients()
        XCTAssertNotNil(grads[h])
        XCTAssertNil(grads[w])
        XCTAssertEqual(grads.count, 1)
    }

    func testWithoutGradientsEqualsRecordedValue() {
        let h = Parameter(randn([6, 5], seed: 5)), w = Parameter(randn([9, 5], seed: 6))
        let targets: [Int32] = [0, 8, 3, -100, 4, 4]
        let recorded = Tensor.linearCrossEntropy(h.tensor, weight: w.tensor, targets: targets, chunkRows: 4)
        let plain = GradientMode.withoutGradients {
            Tensor.linearCrossEntropy(h.tensor, weight: w.tensor, targets: targets, chunkRows: 4)
        }
        XCTAssertEqual(plain.item, recorded.item)
        XCTAssertEqual(plain.gradients().count, 0)
    }
}
