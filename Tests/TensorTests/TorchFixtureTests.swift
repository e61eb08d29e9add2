import Foundation
import XCTest
import Tensor

/// Compares every Tensor op's forward values and gradients with PyTorch's.
///
/// The fixture (`Fixtures/torch_ops.safetensors`, written by `Tools/make_tensor_fixtures.py`) holds,
/// per case, the inputs, torch's outputs, a fixed upstream gradient `gy` per output and torch's
/// gradients of L = Σᵢ sum(outᵢ ⊙ gyᵢ) with respect to each differentiable input. Here the same
/// L is built from Tailor's ops, the inputs are trainable ``Parameter``s, and
/// ``Tensor/gradients(seed:)`` must reproduce torch's gradients — a backward check independent of
/// the finite-difference one.
///
/// Tolerance: an element passes when |tailor − torch| ≤ rtol·|torch| + atol·max|torch|, i.e. a
/// relative bound plus an absolute floor scaled to the tensor's magnitude (float32 rounding of
/// different summation orders makes near-zero elements relatively noisy). Default rtol = 1e-5,
/// atol = 1e-6; ops built on polynomial approximations of exp/erf/tanh state looser bounds below.
final class TorchFixtureTests: XCTestCase {
    struct Tolerance {
        var rtol: Float = 1e-5
        var atol: Float = 1e-6
    }

    /// Tolerances per op; everything not listed uses the default (1e-5 relative, 1e-6 of max).
    static let tolerances: [String: Tolerance] = [
        // exp kernel: range-reduced polynomial, ~2 ulp.
        "exp": Tolerance(rtol: 1e-5, atol: 1e-6),
        // tanh = 1 − 2/(e^{2x}+1): absolute error ~1e-7, so relatively loose near 0.
        "tanh": Tolerance(rtol: 1e-5, atol: 2e-6),
        // erf from Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): absolute, not relative, accuracy.
        "gelu": Tolerance(rtol: 1e-5, atol: 2e-6),
        // 0.5·x·(1+tanh(…)) cancels for x ≪ 0 in both implementations.
        "gelu_tanh": Tolerance(rtol: 1e-5, atol: 2e-6),
        // Tailor rounds base^(−2i/D) from Double, Hugging Face computes it with a float32 pow: the
        // inverse frequencies differ by ≤ 1 ulp, i.e. ≤ 1.2e-7·position radians (positions ≤ 61 here).
        "rotary": Tolerance(rtol: 1e-5, atol: 3e-6),
    ]

    static let fixture: Result<FixtureFile, Error> = Result { try FixtureFile(url: fixtureURL("torch_ops.safetensors")) }

    // MARK: - Cases by family

    func testMatmul() throws { try runCases(ops: ["matmul"]) }
    func testLinear() throws { try runCases(ops: ["linear"]) }
    func testBroadcastArithmetic() throws { try runCases(ops: ["add", "sub", "mul", "div"]) }
    func testScalarArithmetic() throws {
        try runCases(ops: ["scalar_add", "scalar_radd", "scalar_sub", "scalar_rsub", "scalar_mul", "scalar_rmul",
                           "scalar_div", "scalar_neg"])
    }
    func testReductions() throws { try runCases(ops: ["sum_all", "mean_all", "sum_axis", "mean_axis", "max_axis"]) }
    func testUnaryFunctions() throws { try runCases(ops: ["exp", "log", "sqrt", "tanh"]) }
    func testActivations() throws { try runCases(ops: ["gelu", "gelu_tanh", "silu", "swiglu"]) }
    func testSoftmax() throws { try runCases(ops: ["softmax", "log_softmax"]) }
    func testNormalization() throws { try runCases(ops: ["layer_norm", "rms_norm"]) }
    func testEmbedding() throws { try runCases(ops: ["embedding"]) }
    func testRotary() throws { try runCases(ops: ["rotary"]) }
    func testAttention() throws { try runCases(ops: ["attention"]) }
    func testCrossEntropy() throws { try runCases(ops: ["cross_entropy"]) }
    func testMaskedFill() throws { try runCases(ops: ["masked_fill"]) }
    func testShapeOps() throws { try runCases(ops: ["permute", "transpose", "slice", "concat", "split"]) }

    /// Every case in the fixture belongs to a family tested above (nothing silently skipped).
    func testEveryFixtureCaseIsCovered() throws {
        let covered: Set<String> = [
            "matmul", "linear", "add", "sub", "mul", "div", "scalar_add", "scalar_radd", "scalar_sub", "scalar_rsub",
            "scalar_mul", "scalar_rmul", "scalar_div", "scalar_neg", "sum_all", "mean_all", "sum_axis", "mean_axis",
            "max_axis", "exp", "log", "sqrt", "tanh", "gelu", "gelu_tanh", "silu", "swiglu", "softmax", "log_softmax",
            "layer_norm", "rms_norm", "embedding", "rotary", "attention", "cross_entropy", "masked_fill", "permute",
            "transpose", "slice", "concat", "split",
        ]
        let cases = try Self.cases()
        XCTAssertGreaterThan(cases.count, 90)
        for (name, c) in cases { XCTAssertTrue(covered.contains(c.op), "case \(name) has untested op \(c.op)") }
    }

    /// The attention kernel reading K/V from a preallocated cache (row and batch strides larger than
    /// the dense layout) gives torch's result for a KV-cache step.
    func testAttentionKernelWithCacheStrides() throws {
        let file = try Self.fixture.get()
        let cases = try Self.cases()
        for name in ["attention_kvcache_step", "attention_left_padding_decode", "attention_decode_single"] {
            guard let c = cases[name] else { XCTFail("missing case \(name)"); continue }
            let (qShape, q) = try file.floats("\(name)/q")
            let (kShape, k) = try file.floats("\(name)/k")
            let (_, v) = try file.floats("\(name)/v")
            let (B, T, H, D) = (qShape[0], qShape[1], qShape[2], qShape[3])
            let (S, G) = (kShape[1], kShape[2])
            let pad = 3, capacity = S + 5
            let rowStride = G * D + pad, batchStride = capacity * rowStride
            var kCache = [Float](repeating: .nan, count: B * batchStride)
            var vCache = kCache
            for b in 0..<B {
                for s in 0..<S {
                    for j in 0..<(G * D) {
                        kCache[b * batchStride + s * rowStride + j] = k[(b * S + s) * G * D + j]
                        vCache[b * batchStride + s * rowStride + j] = v[(b * S + s) * G * D + j]
                    }
                }
            }
            var out = [Float](repeating: 0, count: q.count)
            let mask = try c.mask(), scale = try c.float("scale")
            q.withUnsafeBufferPointer { qp in
                kCache.withUnsafeBufferPointer { kp in
                    vCache.withUnsafeBufferPointer { vp in
                        out.withUnsafeMutableBufferPointer { op in
                            AttentionKernel.forward(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!,
                                                    kvRowStride: rowStride, kvBatchStride: batchStride,
                                                    out: op.baseAddress!, lse: nil,
                                                    shape: .init(batch: B, queries: T, keys: S, heads: H, kvHeads: G, headDim: D),
                                                    scale: scale, mask: mask)
                        }
                    }
                }
            }
            let expected = try file.floats("\(name)/out0")
            assertClose(try Tensor(shape: qShape, values: out), expected, Tolerance(), "\(name) cache-strided forward")
        }
    }

    // MARK: - Machinery

    /// One fixture case: the op, the names of its inputs and its parameters.
    struct Case {
        let name: String
        let op: String
        let inputs: [String]
        let outputs: Int
        let grads: [String]
        let params: [String: Any]

        func bool(_ key: String) throws -> Bool {
            guard let v = params[key] as? Bool else { throw FixtureError.badParameter(case: name, key: key) }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = params[key] as? Int else { throw FixtureError.badParameter(case: name, key: key) }
            return v
        }
        func float(_ key: String) throws -> Float {
            guard let v = params[key] as? Double else { throw FixtureError.badParameter(case: name, key: key) }
            return Float(v)
        }
        func ints(_ key: String) throws -> [Int] {
            guard let v = params[key] as? [Int] else { throw FixtureError.badParameter(case: name, key: key) }
            return v
        }
        func mask() throws -> AttentionMask {
            AttentionMask(causal: try bool("causal"), queryOffset: try int("queryOffset"),
                          keyStart: params["keyStart"] == nil ? nil : try ints("keyStart"))
        }
    }

    static func cases() throws -> [String: Case] {
        let file = try fixture.get()
        guard let text = file.metadata["cases"], let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              let dict = json as? [String: [String: Any]] else {
            throw FixtureError.malformedHeader("metadata 'cases'")
        }
        var result: [String: Case] = [:]
        for (name, info) in dict {
            guard let op = info["op"] as? String, let inputs = info["inputs"] as? [String],
                  let outputs = info["outputs"] as? Int, let grads = info["grads"] as? [String] else {
                throw FixtureError.malformedHeader("case \(name)")
            }
            result[name] = Case(name: name, op: op, inputs: inputs, outputs: outputs, grads: grads, params: info)
        }
        return result
    }

    /// Runs every case whose op is in `ops`; fails when there is none.
    func runCases(ops: Set<String>) throws {
        let file = try Self.fixture.get()
        let selected = try Self.cases().values.filter { ops.contains($0.op) }.sorted { $0.name < $1.name }
        XCTAssertFalse(selected.isEmpty, "no fixture cases for \(ops)")
        for c in selected { try check(c, file) }
    }

    /// Runs one case through Tailor and compares outputs and gradients with torch's.
    func check(_ c: Case, _ file: FixtureFile) throws {
        let tolerance = Self.tolerances[c.op] ?? Tolerance()
        var tensors: [String: Tensor] = [:]
        var parameters: [String: Parameter] = [:]
        var ints: [String: [Int32]] = [:]
        for input in c.inputs {
            let key = "\(c.name)/\(input)"
            if (try? file.info(named: key))?.dtype == .i32 {
                ints[input] = try file.ints(key)
                continue
            }
            let (shape, values) = try file.floats(key)
            let value = try Tensor(shape: shape, values: values)
            if c.grads.contains(input) {
                let p = Parameter(value)
                parameters[input] = p
                tensors[input] = p.tensor
            } else {
                // Inputs torch treats as constants: a frozen parameter still lets gradients through.
                tensors[input] = Parameter(value, trainable: false).tensor
            }
        }
        let outputs = try run(c, tensors, ints)
        XCTAssertEqual(outputs.count, c.outputs, "\(c.name): number of outputs")
        var loss: Tensor? = nil
        for (i, out) in outputs.enumerated() {
            let expected = try file.floats("\(c.name)/out\(i)")
            assertClose(out, expected, tolerance, "\(c.name) out\(i)")
            let (gyShape, gyValues) = try file.floats("\(c.name)/gy\(i)")
            let gy = try Tensor(shape: out.rank == 0 ? [] : gyShape, values: gyValues)
            let term = (out * gy).sum()
            loss = loss.map { $0 + term } ?? term
        }
        guard let loss, !c.grads.isEmpty else { return }
        let grads = loss.gradients()
        XCTAssertEqual(grads.count, c.grads.count, "\(c.name): parameters with a gradient")
        for input in c.grads {
            let expected = try file.floats("\(c.name)/grad_\(input)")
            guard let p = parameters[input], let g = grads[p] else {
                XCTFail("\(c.name): no gradient for \(input)")
                continue
            }
            assertClose(g, expected, tolerance, "\(c.name) grad_\(input)")
        }
    }

    /// Tailor's version of a case's op.
    func run(_ c: Case, _ t: [String: Tensor], _ ints: [String: [Int32]]) throws -> [Tensor] {
        func x(_ name: String) throws -> Tensor {
            guard let v = t[name] else { throw FixtureError.missingTensor("\(c.name)/\(name)") }
            return v
        }
        func ids(_ name: String) throws -> [Int32] {
            guard let v = ints[name] else { throw FixtureError.missingTensor("\(c.name)/\(name)") }
            return v
        }
        switch c.op {
        case "matmul":
            return [Tensor.matmul(try x("a"), try x("b"), transposeA: try c.bool("transposeA"),
                                  transposeB: try c.bool("transposeB"))]
        case "linear": return [Tensor.linear(try x("x"), weight: try x("weight"), bias: t["bias"])]
        case "add": return [try x("a") + x("b")]
        case "sub": return [try x("a") - x("b")]
        case "mul": return [try x("a") * x("b")]
        case "div": return [try x("a") / x("b")]
        case "scalar_add": return [try x("x") + c.float("scalar")]
        case "scalar_radd": return [try c.float("scalar") + x("x")]
        case "scalar_sub": return [try x("x") - c.float("scalar")]
        case "scalar_rsub": return [try c.float("scalar") - x("x")]
        case "scalar_mul": return [try x("x") * c.float("scalar")]
        case "scalar_rmul": return [try c.float("scalar") * x("x")]
        case "scalar_div": return [try x("x") / c.float("scalar")]
        case "scalar_neg": return [-(try x("x"))]
        case "sum_all": return [try x("x").sum()]
        case "mean_all": return [try x("x").mean()]
        case "sum_axis": return [try x("x").sum(axis: c.int("axis"), keepingDimension: c.bool("keep"))]
        case "mean_axis": return [try x("x").mean(axis: c.int("axis"), keepingDimension: c.bool("keep"))]
        case "max_axis": return [try x("x").max(axis: c.int("axis"), keepingDimension: c.bool("keep"))]
        case "exp": return [try x("x").exp()]
        case "log": return [try x("x").log()]
        case "sqrt": return [try x("x").sqrt()]
        case "tanh": return [try x("x").tanh()]
        case "gelu": return [try x("x").gelu()]
        case "gelu_tanh": return [try x("x").geluTanh()]
        case "silu": return [try x("x").silu()]
        case "swiglu": return [Tensor.swiglu(gate: try x("gate"), up: try x("up"))]
        case "softmax": return [try x("x").softmax()]
        case "log_softmax": return [try x("x").logSoftmax()]
        case "layer_norm":
            return [Tensor.layerNorm(try x("x"), weight: try x("weight"), bias: try x("bias"), epsilon: try c.float("epsilon"))]
        case "rms_norm": return [Tensor.rmsNorm(try x("x"), weight: try x("weight"), epsilon: try c.float("epsilon"))]
        case "embedding": return [Tensor.embedding(try x("table"), ids: try ids("ids"), shape: try c.ints("shape"))]
        case "rotary":
            let input = try x("x")
            let layout: RotaryEmbedding.Layout = (c.params["layout"] as? String) == "neox" ? .neox : .interleaved
            let table = RotaryEmbedding(dimension: input.shape[3], maxPositions: try c.int("maxPositions"),
                                        base: try c.float("base"), layout: layout)
            return [Tensor.rotary(input, positions: try ids("positions"), table: table)]
        case "attention":
            return [Tensor.attention(q: try x("q"), k: try x("k"), v: try x("v"), scale: try c.float("scale"), mask: try c.mask())]
        case "cross_entropy":
            let normalizer = c.params["normalizer"] == nil ? nil : try c.float("normalizer")
            return [Tensor.crossEntropy(logits: try x("logits"), targets: try ids("targets"), normalizer: normalizer)]
        case "masked_fill": return [try x("x").maskedFill(try x("mask"), with: try c.float("value"))]
        case "permute": return [try x("x").permuted(try c.ints("axes"))]
        case "transpose": return [try x("x").transposed(try c.int("a"), try c.int("b"))]
        case "slice": return [try x("x").slice(axis: try c.int("axis"), try c.int("start")..<c.int("end"))]
        case "concat": return [Tensor.concat(try c.inputs.map { try x($0) }, axis: try c.int("axis"))]
        case "split": return try x("x").split(axis: try c.int("axis"), sizes: try c.ints("sizes"))
        default:
            XCTFail("unknown op \(c.op) in case \(c.name)")
            return []
        }
    }

    /// Asserts shape equality (torch scalars are stored as [1]) and closeness within `tol`.
    func assertClose(_ actual: Tensor, _ expected: (shape: [Int], values: [Float]), _ tol: Tolerance, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        let shapeOK = actual.shape == expected.shape || (actual.shape == [] && expected.shape == [1])
        XCTAssertTrue(shapeOK, "\(label): shape \(actual.shape), torch \(expected.shape)", file: file, line: line)
        guard shapeOK else { return }
        let a = actual.scalars, e = expected.values
        let scale = e.reduce(Float(0)) { Swift.max($0, abs($1)) }
        var worst: Float = 0, worstIndex = 0, maxAbs: Float = 0
        for i in e.indices {
            let err = abs(a[i] - e[i])
            maxAbs = Swift.max(maxAbs, err)
            let allowed = tol.rtol * abs(e[i]) + tol.atol * scale
            let ratio = err / Swift.max(allowed, .leastNormalMagnitude)
            if !worst.isNaN && (ratio.isNaN || ratio > worst) { worst = ratio; worstIndex = i }
        }
        if ProcessInfo.processInfo.environment["TAILOR_FIXTURE_VERBOSE"] != nil {
            print(String(format: "fixture %-40@ max|err| %.3e  max|torch| %.3e  worst err/allowed %.3f", label as NSString, maxAbs, scale, worst))
        }
        XCTAssertTrue(worst <= 1, "\(label): element \(worstIndex) is \(a[worstIndex]), torch \(e[worstIndex]) (max |err| \(maxAbs), scale \(scale))",
                                 file: file, line: line)
    }
}
