import XCTest
import Tensor

/// Central finite-difference checks of every op's backward.
///
/// Each check contracts the op's output with a fixed random tensor R (loss = Σ out ⊙ R), so every
/// output element's gradient matters, then compares the analytic gradient of each input with
/// (L(x + h·e_i) − L(x − h·e_i)) / 2h at sampled coordinates. Losses are accumulated in Double.
final class GradientCheckTests: XCTestCase {
    private func loss(_ out: Tensor, _ r: Tensor) -> Double {
        out.withUnsafeBufferPointer { o in r.withUnsafeBufferPointer { rr in
            var s = 0.0
            for i in 0..<o.count { s += Double(o[i]) * Double(rr[i]) }
            return s
        } }
    }

    /// Checks `f` at `inputs`; returns the largest relative error seen.
    @discardableResult
    private func check(_ name: String, _ inputs: [Tensor], h: Float = 1e-2, tolerance: Double = 2e-3,
                       samples: Int = 24, file: StaticString = #filePath, line: UInt = #line,
                       _ f: ([Tensor]) -> Tensor) -> Double {
        var rng = SeededRandom(seed: 99)
        let params = inputs.map { Parameter($0) }
        let out = f(params.map(\.tensor))
        let r = Tensor.normal(out.shape, using: &rng)
        let grads = (out * r).sum().gradients()
        var worst = 0.0
        for (pi, p) in params.enumerated() {
            guard let g = grads[p] else { XCTFail("\(name): no gradient for input \(pi)", file: file, line: line); continue }
            XCTAssertEqual(g.shape, p.shape, "\(name): gradient shape", file: file, line: line)
            let gs = g.scalars
            let scale = max(1e-3, gs.map { abs(Double($0)) }.max() ?? 0)
            let n = p.value.count
            let picks = n <= samples ? Array(0..<n) : (0..<samples).map { _ in Int(rng.next() % UInt64(n)) }
            for i in picks {
                let base = p.value.scalars
                func eval(_ delta: Float) -> Double {
                    var v = base; v[i] += delta
                    let t = try! Tensor(shape: p.shape, values: v)
                    let xs = params.enumerated().map { $0.offset == pi ? t : $0.element.value }
                    return GradientMode.withoutGradients { loss(f(xs), r) }
                }
                let numeric = (eval(h) - eval(-h)) / Double(2 * h)
                let err = abs(numeric - Double(gs[i])) / scale
                worst = max(worst, err)
                XCTAssertLessThan(err, tolerance, "\(name): input \(pi)[\(i)] analytic \(gs[i]) numeric \(numeric)", file: file, line: line)
            }
        }
        return worst
    }

    private func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.normal(shape, std: std, using: &rng)
    }

    private func positive(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.uniform(shape, low: 0.5, high: 2, using: &rng)
    }

    func testMatmulVariants() {
        check("matmul", [randn([3, 4], seed: 1), randn([4, 5], seed: 2)]) { Tensor.matmul($0[0], $0[1]) }
        check("matmul tA", [randn([4, 3], seed: 1), randn([4, 5], seed: 2)]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        check("matmul tB", [randn([3, 4], seed: 1), randn([5, 4], seed: 2)]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        check("matmul tAtB", [randn([4, 3], seed: 1), randn([5, 4], seed: 2)]) {
            Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true)
        }
        check("batched", [randn([2, 3, 4], seed: 3), randn([2, 4, 5], seed: 4)]) { Tensor.matmul($0[0], $0[1]) }
        check("batched tB", [randn([2, 3, 4], seed: 3), randn([2, 5, 4], seed: 4)]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        check("shared B", [randn([2, 3, 4], seed: 5), randn([4, 5], seed: 6)]) { Tensor.matmul($0[0], $0[1]) }
        check("shared B tA", [randn([2, 4, 3], seed: 5), randn([4, 5], seed: 6)]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        check("shared B tB", [randn([2, 3, 4], seed: 5), randn([5, 4], seed: 6)]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
    }

    func testLinear() {
        check("linear", [randn([2, 3, 4], seed: 1), randn([5, 4], seed: 2), randn([5], seed: 3)]) {
            Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
        check("linear row", [randn([1, 4], seed: 1), randn([5, 4], seed: 2)]) { Tensor.linear($0[0], weight: $0[1]) }
    }

    func testFrozenWeightGetsNoGradientButInputDoes() {
        let x = Parameter(randn([3, 4], seed: 1))
        let w = Parameter(randn([5, 4], seed: 2), trainable: false)
        let grads = Tensor.linear(x.tensor, weight: w.tensor).sum().gradients()
        XCTAssertNil(grads[w])
        XCTAssertNotNil(grads[x])
        XCTAssertEqual(grads.count, 1)
    }

    func testArithmeticWithBroadcasting() {
        let a = randn([2, 3, 4], seed: 1), b = randn([3, 1], seed: 2), c = randn([4], seed: 3)
        check("add", [a, b]) { $0[0] + $0[1] }
        check("sub", [a, c]) { $0[0] - $0[1] }
        check("mul", [a, b]) { $0[0] * $0[1] }
        check("div", [a, positive([1, 3, 4], seed: 4)]) { $0[0] / $0[1] }
        check("scalar ops", [a]) { (($0[0] * 3 + 1) - 2) / 4 }
        check("rsub", [a]) { 1 - $0[0] }
        check("neg", [a]) { -$0[0] }
    }

    func testReductions() {
        let a = randn([2, 3, 4], seed: 7)
        check("sum all", [a]) { $0[0].sum() }
        check("mean all", [a]) { $0[0].mean() }
        check("sum axis 1", [a]) { $0[0].sum(axis: 1) }
        check("sum axis -1 keep", [a]) { $0[0].sum(axis: -1, keepingDimension: true) }
        check("mean axis 0", [a]) { $0[0].mean(axis: 0) }
        check("max axis 2", [a]) { $0[0].max(axis: 2) }
    }

    func testUnaryAndActivations() {
        let a = randn([3, 7], seed: 8)
        check("exp", [a]) { $0[0].exp() }
        check("log", [positive([3, 7], seed: 9)]) { $0[0].log() }
        check("sqrt", [positive([3, 7], seed: 10)]) { $0[0].sqrt() }
        check("tanh", [a]) { $0[0].tanh() }
        check("silu", [a]) { $0[0].silu() }
        check("gelu", [a]) { $0[0].gelu() }
        check("geluTanh", [a]) { $0[0].geluTanh() }
        check("swiglu", [a, randn([3, 7], seed: 11)]) { Tensor.swiglu(gate: $0[0], up: $0[1]) }
        check("squared", [a]) { $0[0].squared() }
    }

    func testSoftmaxFamily() {
        let a = randn([4, 9], seed: 12, std: 2)
        check("softmax", [a]) { $0[0].softmax() }
        check("logSoftmax", [a]) { $0[0].logSoftmax() }
    }

    func testNorms() {
        let x = randn([2, 3, 8], seed: 13), w = randn([8], seed: 14), b = randn([8], seed: 15)
        check("rmsNorm", [x, w]) { Tensor.rmsNorm($0[0], weight: $0[1], epsilon: 1e-6) }
        check("layerNorm", [x, w, b]) { Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2], epsilon: 1e-5) }
    }

    func testEmbedding() {
        check("embedding", [randn([6, 4], seed: 16)]) { Tensor.embedding($0[0], ids: [1, 5, 1, 0, 3, 3], shape: [2, 3]) }
    }

    func testRotaryBothLayouts() {
        let x = randn([2, 3, 2, 8], seed: 17)
        for layout in [RotaryEmbedding.Layout.neox, .interleaved] {
            let table = RotaryEmbedding(dimension: 8, maxPositions: 16, base: 10_000, layout: layout)
            check("rope \(layout)", [x]) { Tensor.rotary($0[0], positions: [0, 1, 2, 5, 6, 7], table: table) }
        }
    }

    func testAttention() {
        // GQA: 4 query heads over 2 key/value heads.
        let q = randn([2, 5, 4, 8], seed: 18), k = randn([2, 5, 2, 8], seed: 19), v = randn([2, 5, 2, 8], seed: 20)
        let scale = 1 / Float(8).squareRoot()
        check("attention causal gqa", [q, k, v]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], scale: scale) }
        check("attention non-causal", [q, k, v]) {
            Tensor.attention(q: $0[0], k: $0[1], v: $0[2], scale: scale, mask: AttentionMask(causal: false))
        }
        check("attention left padding", [q, k, v]) {
            Tensor.attention(q: $0[0], k: $0[1], v: $0[2], scale: scale, mask: AttentionMask(causal: true, queryOffset: 0, keyStart: [0, 2]))
        }
        // Fewer queries than keys (a cached step): queries sit at the last positions.
        let q2 = randn([1, 2, 4, 8], seed: 21), k2 = randn([1, 6, 2, 8], seed: 22), v2 = randn([1, 6, 2, 8], seed: 23)
        check("attention offset", [q2, k2, v2]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], scale: scale) }
    }

    func testCrossEntropy() {
        let logits = randn([5, 11], seed: 24, std: 2)
        check("crossEntropy mean", [logits]) { Tensor.crossEntropy(logits: $0[0], targets: [3, -100, 0, 10, 7]) }
        check("crossEntropy normalizer", [logits]) { Tensor.crossEntropy(logits: $0[0], targets: [3, 1, -100, 10, 7], normalizer: 13) }
    }

    func testLinearCrossEntropy() {
        let hidden = randn([5, 6], seed: 26), weight = randn([11, 6], seed: 27)
        for chunk in [1, 2, 5] {
            check("linearCrossEntropy chunk \(chunk)", [hidden, weight]) {
                Tensor.linearCrossEntropy($0[0], weight: $0[1], targets: [3, -100, 0, 10, 7], chunkRows: chunk)
            }
        }
        check("linearCrossEntropy normalizer", [hidden, weight]) {
            Tensor.linearCrossEntropy($0[0], weight: $0[1], targets: [3, 1, -100, 10, 7], normalizer: 13, chunkRows: 2) * 1.7
        }
    }

    func testShapeOps() {
        let a = randn([2, 3, 4], seed: 25)
        check("reshape", [a]) { $0[0].reshaped([4, -1]) }
        check("permute", [a]) { $0[0].permuted([2, 0, 1]) }
        check("transpose", [a]) { $0[0].transposed() }
        check("slice inner", [a]) { $0[0].slice(axis: 1, 1..<3) }
        check("slice outer", [a]) { $0[0].slice(axis: 0, 1..<2) }
        check("concat", [a, randn([2, 2, 4], seed: 26)]) { Tensor.concat([$0[0], $0[1]], axis: 1) }
        check("split", [a]) { xs in
            let parts = xs[0].split(axis: 2, sizes: [1, 3])
            return parts[0] * 2 + parts[1].sum(axis: 2, keepingDimension: true)
        }
    }

    func testMaskingOps() throws {
        let a = randn([3, 4], seed: 27)
        let mask = try Tensor(shape: [1, 4], values: [0, 1, 0, 1])
        check("maskedFill", [a]) { $0[0].maskedFill(mask, with: -5) }
        var rng = SeededRandom(seed: 3)
        let dropped = a.dropout(0.5, using: &rng).scalars
        let zeros = dropped.filter { $0 == 0 }.count
        XCTAssertTrue(zeros > 0 && zeros < 12, "dropout zeroed \(zeros) of 12")
        for (d, x) in zip(dropped, a.scalars) where d != 0 { XCTAssertEqual(d, x * 2, accuracy: 1e-6) }
        check("dropout", [a]) { x in
            var r = SeededRandom(seed: 3)
            return x[0].dropout(0.3, using: &r)
        }
    }

    func testGradientAccumulatesOverReuse() {
        // x used twice: d(x·x + x)/dx = 2x + 1.
        let x = Parameter(randn([5], seed: 28))
        let t = x.tensor
        let g = (t * t + t).sum().gradients()[x]!.scalars
        for (gi, xi) in zip(g, x.value.scalars) { XCTAssertEqual(gi, 2 * xi + 1, accuracy: 1e-5) }
    }

    func testKLDivergence() {
        let teacher = randn([4, 9], seed: 31, std: 2)
        var rng = SeededRandom(seed: 32)
        let indices = (0..<4).flatMap { _ in Array((0..<9).map(Int32.init).shuffled(using: &rng).prefix(3)) }
        let teacherTop = Tensor.build([4, 3]) { b in for i in b.indices { b[i] = teacher.scalars[(i / 3) * 9 + Int(indices[i])] } }
        for direction in KLDirection.allCases {
            for temperature: Float in [1, 2.5] {
                check("kl \(direction) T=\(temperature)", [randn([4, 9], seed: 33, std: 2)], h: 1e-2, tolerance: 3e-3) {
                    Tensor.klDivergence(student: $0[0], teacher: teacher, temperature: temperature, direction: direction, normalizer: 3)
                }
                check("kl top-k \(direction) T=\(temperature)", [randn([4, 9], seed: 34, std: 2)], h: 1e-2, tolerance: 3e-3) {
                    Tensor.klDivergence(student: $0[0], teacher: teacherTop, teacherIndices: indices, temperature: temperature,
                                        direction: direction)
                }
            }
        }
    }

    func testWeightedSquaredDistance() {
        let anchor = randn([5, 6], seed: 41), weights = positive([5, 6], seed: 42)
        check("ewc", [randn([5, 6], seed: 43)]) { Tensor.weightedSquaredDistance($0[0], anchor: anchor, weights: weights) }
        check("l2sp", [randn([5, 6], seed: 44)]) { Tensor.weightedSquaredDistance($0[0], anchor: anchor) }
    }

    /// A box for a layer's dropout generator, like LoRA's.
    private final class Generator { var rng = SeededRandom(seed: 77) }

    func testCheckpointedSegmentGivesTheSameGradientsAndReplaysDropout() {
        let w1 = Parameter(randn([6, 5], seed: 51)), w2 = Parameter(randn([5, 6], seed: 52))
        let frozen = Parameter(randn([6], seed: 53), trainable: false)
        let x = Parameter(randn([3, 5], seed: 54))
        let r = randn([3, 5], seed: 55)
        func run(checkpointed: Bool) -> (grads: [[Float]], output: [Float], rng: SeededRandom) {
            let gen = Generator()
            let body: (Tensor) -> Tensor = { h in
                let a = Tensor.linear(h, weight: w1.tensor, bias: frozen.tensor).tanh().dropout(0.3, using: &gen.rng)
                return h + Tensor.linear(a, weight: w2.tensor)
            }
            let x2 = x.tensor * 1.5  // the segment's input has its own history
            let y = checkpointed ? Tensor.checkpointed(x2, parameters: [w1, w2, frozen, w1], body) : body(x2)
            let z = checkpointed ? Tensor.checkpointed(y, parameters: [w1, w2, frozen], body) : body(y)
            let g = (z * r).sum().gradients()
            XCTAssertNil(g[frozen])
            return ([g[x]!.scalars, g[w1]!.scalars, g[w2]!.scalars], z.scalars, gen.rng)
        }
        let plain = run(checkpointed: false), checkpointed = run(checkpointed: true)
        XCTAssertEqual(checkpointed.output, plain.output)
        XCTAssertEqual(checkpointed.rng, plain.rng, "the recompute must not advance the generator")
        for (a, b) in zip(checkpointed.grads, plain.grads) {
            XCTAssertEqual(a.count, b.count)
            for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-6) }
        }
        // Without anything trainable upstream, the segment does not record.
        let inference = GradientMode.withoutGradients { Tensor.checkpointed(x.tensor, parameters: [w1]) { $0 * 2 } }
        XCTAssertFalse(inference.requiresGradient)
    }
}
