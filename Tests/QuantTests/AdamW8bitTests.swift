import XCTest
import Quant
import Tensor
import Train

/// AdamW8bit against bitsandbytes' trajectory (Tools/make_adamw8bit_fixtures.py).
final class AdamW8bitTests: XCTestCase {
    func testTrajectoryFollowsBitsAndBytes() throws {
        let fixture = try FixtureArchive("adamw8bit.safetensors")
        func halfs(_ name: String) throws -> [Float] {
            try fixture.bytes(name).withUnsafeBytes { b in
                (0..<(b.count / 2)).map { Float(Float16(bitPattern: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
            }
        }
        let sizes = ["big": 4200, "small": 100]
        let params = try sizes.mapValues { n in Parameter(try Tensor(shape: [n], values: [Float](repeating: 0, count: n))) }
        for (name, n) in sizes { try params[name]!.assign(try Tensor(shape: [n], values: try fixture.floats(name + ".init"))) }
        let grads = try sizes.keys.reduce(into: [String: [Float]]()) { $0[$1] = try halfs($1 + ".grads") }
        let expected = try sizes.keys.reduce(into: [String: [Float]]()) { $0[$1] = try fixture.floats($1 + ".params") }

        let optimizer = AdamW8bit()
        XCTAssertEqual(bitDifferences(optimizer.qmap1, try fixture.floats("big.qmap1")), [])
        XCTAssertEqual(bitDifferences(optimizer.qmap2, try fixture.floats("big.qmap2")), [])
        let saved = [1: 0, 3: 1, 6: 2]
        for step in 1...6 {
            var g: [String: Tensor] = [:]
            for (name, n) in sizes { g[name] = try Tensor(shape: [n], values: Array(grads[name]![((step - 1) * n)..<(step * n)])) }
            optimizer.update(sizes.keys.map { ($0, params[$0]!) }, gradients: g, learningRate: 1e-2)
            guard let row = saved[step] else { continue }
            for (name, n) in sizes {
                let want = Array(expected[name]![(row * n)..<((row + 1) * n)])
                let got = params[name]!.tensor.scalars
                // Each step moves a weight by about lr = 1e-2; the two agree to Float32 rounding.
                print("AdamW8bit \(name) after step \(step): max |Δ| vs bitsandbytes = \(maxAbs(got, want))")
                XCTAssertLessThan(maxAbs(got, want), 1e-5, "\(name) after step \(step)")
            }
        }
        guard case let .quantized(s1, a1, s2, a2)? = optimizer.states["big"] else { return XCTFail("big should have 8-bit state") }
        guard case .full? = optimizer.states["small"] else { return XCTFail("small should have Float32 state") }
        let bnbS1 = try fixture.bytes("big.state1"), bnbS2 = try fixture.bytes("big.state2")
        let same1 = zip(s1, bnbS1).filter { $0 == $1 }.count, same2 = zip(s2, bnbS2).filter { $0 == $1 }.count
        print("AdamW8bit final codes equal to bitsandbytes: state1 \(same1)/\(s1.count), state2 \(same2)/\(s2.count)")
        XCTAssertGreaterThan(Double(same1) / Double(s1.count), 0.99)
        XCTAssertGreaterThan(Double(same2) / Double(s2.count), 0.99)
        XCTAssertLessThan(maxAbs(a1, try fixture.floats("big.absmax1")), 1e-5)
        XCTAssertLessThan(maxAbs(a2, try fixture.floats("big.absmax2")), 1e-6)
        XCTAssertEqual(optimizer.stateByteCount, 2 * 4200 + 8 * 17 + 8 * 100)
    }

    /// The blockwise kernel against a naive reference written from bitsandbytes' formulas: whole
    /// moments decoded, updated, encoded by `BlockwiseQuantization` — bit for bit, over three steps
    /// with weight decay, a gradient scale and a short last block.
    func testKernelEqualsNaiveReference() throws {
        let n = 256 * 17 + 45, lr = 1e-3, wd = 0.01, scale: Float = 0.7
        var rng = SeededRandom(seed: 3)
        let start = Tensor.normal([n], std: 0.5, using: &rng)
        let grads = (0..<3).map { _ in Tensor.normal([n], std: 0.1, using: &rng) }
        let optimizer = AdamW8bit(weightDecay: wd)
        let parameter = Parameter(start)
        var w = start.scalars, m = [Float](repeating: 0, count: n), v = [Float](repeating: 0, count: n)
        let (q1, q2) = (DynamicQuantizationMap.signed, DynamicQuantizationMap.unsigned)
        var codes1 = [UInt8](), codes2 = [UInt8](), absmax1 = [Float](), absmax2 = [Float]()
        for (t, g) in grads.enumerated() {
            optimizer.update([("w", parameter)], gradients: ["w": g], learningRate: lr, gradientScale: scale)
            let c1 = 1 - pow(0.9, Double(t + 1)), c2 = (1 - pow(0.999, Double(t + 1))).squareRoot()
            let stepSize = Float(-lr / c1), correction = Float(c2), decay = Float(1 - lr * wd)
            let gs = g.scalars
            for i in 0..<n {
                let gi = gs[i] * scale
                m[i] = m[i] * Float(0.9) + Float(1 - 0.9) * gi
                v[i] = v[i] * Float(0.999) + Float(1 - 0.999) * gi * gi
                w[i] = w[i] * decay
                w[i] = w[i] + stepSize * m[i] / (v[i].squareRoot() / correction + Float(1e-8))
            }
            (codes1, absmax1) = BlockwiseQuantization.quantize(m, code: q1, blockSize: 256)
            (codes2, absmax2) = BlockwiseQuantization.quantize(v, code: q2, blockSize: 256)
            m = BlockwiseQuantization.dequantize(codes: codes1, absmax: absmax1, code: q1, blockSize: 256)
            v = BlockwiseQuantization.dequantize(codes: codes2, absmax: absmax2, code: q2, blockSize: 256)
        }
        XCTAssertEqual(parameter.value.scalars, w)
        guard case let .quantized(s1, a1, s2, a2)? = optimizer.states["w"] else { return XCTFail("8-bit state expected") }
        XCTAssertEqual(s1, codes1)
        XCTAssertEqual(s2, codes2)
        XCTAssertEqual(a1, absmax1)
        XCTAssertEqual(a2, absmax2)
    }

    func maxAbs(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }
}
