import CKernels
import Foundation
import Tensor
import XCTest

/// Every C kernel, in both its AVX2+FMA and portable builds, against a naive double-precision
/// reference, for lengths 1, 7, 33 and 1000 (scalar tails, one vector plus tail, many vectors).
///
/// Error measure per element: |kernel − reference| / max(|reference|, floor). `floor` turns the
/// bound into an absolute one near zero, where kernels built on polynomial exp/erf/tanh only
/// promise absolute accuracy. Each kernel states its (tolerance, floor).
final class KernelDispatchTests: XCTestCase {
    static let sizes = [1, 7, 33, 1000]

    override func tearDown() {
        tk_force_portable(0)
        super.tearDown()
    }

    /// Runs `body` once with the portable kernels and once with the AVX2 ones (when the CPU has AVX2
    /// and FMA, which must then be what dispatch picks).
    func forEachBuild(_ body: (String) throws -> Void) rethrows {
        tk_force_portable(1)
        XCTAssertEqual(tk_uses_avx2(), 0, "tk_force_portable(1) must select the portable build")
        try body("portable")
        tk_force_portable(0)
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set(cpu.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        if flags.contains("avx2") && flags.contains("fma") {
            XCTAssertEqual(tk_uses_avx2(), 1, "CPU has AVX2+FMA but dispatch chose the portable build")
            try body("avx2")
        } else {
            XCTAssertEqual(tk_uses_avx2(), 0)
        }
    }

    func random(_ n: Int, _ low: Float, _ high: Float, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in low + (high - low) * rng.nextUniform() }
    }

    func assertClose(_ actual: [Float], _ expected: [Double], tol: Double, floor: Double, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
        var worst = 0.0, at = 0
        for i in 0..<min(actual.count, expected.count) {
            let err = abs(Double(actual[i]) - expected[i]) / Swift.max(abs(expected[i]), floor)
            if !(err <= worst) { worst = err; at = i; if err.isNaN { break } }
        }
        if ProcessInfo.processInfo.environment["TAILOR_FIXTURE_VERBOSE"] != nil {
            print(String(format: "kernel %-44@ worst %.3e (tol %.1e)", label as NSString, worst, tol))
        }
        XCTAssertTrue(worst <= tol, "\(label): element \(at) = \(actual.isEmpty ? 0 : actual[at]), reference \(expected.isEmpty ? 0 : expected[at]), error \(worst) > \(tol)",
                      file: file, line: line)
    }

    // MARK: - Exponentials and reductions

    func testExp() {
        forEachBuild { build in
            for n in Self.sizes {
                let x = random(n, -80, 80, seed: 1)
                var y = [Float](repeating: 0, count: n)
                tk_exp(x, &y, n)
                assertClose(y, x.map { Foundation.exp(Double($0)) }, tol: 1e-6, floor: 1e-30, "\(build) exp n=\(n)")
                let shift = Float(3.25)
                tk_exp_shifted(x, &y, n, shift)
                // The kernel's argument x − shift is a float: the reference exponentiates that float.
                assertClose(y, x.map { Foundation.exp(Double($0 - shift)) }, tol: 1e-6, floor: 1e-30,
                            "\(build) exp_shifted n=\(n)")
            }
        }
    }

    func testSoftmaxAndLogSumExp() {
        forEachBuild { build in
            for n in Self.sizes {
                let rows = 3
                let x = random(rows * n, -12, 12, seed: 2)
                var y = [Float](repeating: 0, count: rows * n)
                var lse = [Float](repeating: 0, count: rows)
                tk_softmax_rows(x, &y, rows, n)
                tk_logsumexp_rows(x, &lse, rows, n)
                var refY = [Double](), refL = [Double]()
                for r in 0..<rows {
                    let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
                    let m = row.max()!
                    let s = row.reduce(0) { $0 + Foundation.exp($1 - m) }
                    refY += row.map { Foundation.exp($0 - m) / s }
                    refL.append(m + Foundation.log(s))
                }
                // x − max is rounded to float before exp: relative error ≤ |x − max|·2⁻²⁴ ≈ 1.4e-6 here.
                assertClose(y, refY, tol: 4e-6, floor: 1e-30, "\(build) softmax_rows n=\(n)")
                assertClose(lse, refL, tol: 1e-6, floor: 1, "\(build) logsumexp_rows n=\(n)")
                var one = [Float](repeating: 0, count: n)
                let l = tk_softmax_lse(x, &one, n)
                assertClose(one, Array(refY[0..<n]), tol: 4e-6, floor: 1e-30, "\(build) softmax_lse n=\(n)")
                assertClose([l], [refL[0]], tol: 1e-6, floor: 1, "\(build) softmax_lse value n=\(n)")
                // In place (in == out), as the attention kernel uses it.
                var inPlace = Array(x[0..<n])
                inPlace.withUnsafeMutableBufferPointer { p in _ = tk_softmax_lse(p.baseAddress!, p.baseAddress!, n) }
                assertClose(inPlace, Array(refY[0..<n]), tol: 4e-6, floor: 1e-30, "\(build) softmax_lse in place n=\(n)")
            }
        }
    }

    func testSumsAndDot() {
        forEachBuild { build in
            for n in Self.sizes {
                let a = random(n, -2, 2, seed: 3), b = random(n, -2, 2, seed: 4)
                let absSum = a.reduce(0) { $0 + abs(Double($1)) }
                let absSq = a.reduce(0) { $0 + Double($1) * Double($1) }
                let absDot = zip(a, b).reduce(0) { $0 + abs(Double($1.0) * Double($1.1)) }
                // Float32 accumulation: error bounded relative to Σ|terms|, not to the (cancelling) result.
                assertClose([tk_sum(a, n)], [a.reduce(0) { $0 + Double($1) }], tol: 1e-6, floor: absSum, "\(build) sum n=\(n)")
                assertClose([tk_sum_squares(a, n)], [absSq], tol: 1e-6, floor: absSq, "\(build) sum_squares n=\(n)")
                assertClose([tk_dot(a, b, n)], [zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }], tol: 1e-6,
                            floor: absDot, "\(build) dot n=\(n)")
            }
        }
    }

    // MARK: - Activations

    /// Runs a y = f(x) kernel and a dx = dy·f'(x) kernel against double references.
    func checkActivation(_ name: String, range: Float, tol: Double, floor: Double,
                         forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                         backward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)?,
                         f: (Double) -> Double, df: (Double) -> Double) {
        forEachBuild { build in
            for n in Self.sizes {
                let x = random(n, -range, range, seed: 5), dy = random(n, -1, 1, seed: 6)
                var y = [Float](repeating: 0, count: n)
                forward(x, &y, n)
                assertClose(y, x.map { f(Double($0)) }, tol: tol, floor: floor, "\(build) \(name) n=\(n)")
                if let backward {
                    var dx = [Float](repeating: 0, count: n)
                    backward(x, dy, &dx, n)
                    assertClose(dx, zip(x, dy).map { df(Double($0)) * Double($1) }, tol: tol, floor: floor,
                                "\(build) \(name)_backward n=\(n)")
                }
            }
        }
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    func testSiLU() {
        // Relative accuracy of the polynomial exp; silu' crosses zero near x = −1.28 (floor 1e-2).
        checkActivation("silu", range: 12, tol: 2e-6, floor: 1e-2,
                        forward: { tk_silu($0, $1, $2) }, backward: { tk_silu_backward($0, $1, $2, $3) },
                        f: { $0 * Self.sigmoid($0) },
                        df: { let s = Self.sigmoid($0); return s * (1 + $0 * (1 - s)) })
    }

    func testGELUErf() {
        // erf (Abramowitz–Stegun 7.1.26) has absolute error < 1.5e-7: absolute floor 1e-2.
        let c = 1 / 2.0.squareRoot()
        checkActivation("gelu_erf", range: 8, tol: 3e-5, floor: 1e-2,
                        forward: { tk_gelu_erf($0, $1, $2) }, backward: { tk_gelu_erf_backward($0, $1, $2, $3) },
                        f: { 0.5 * $0 * (1 + erf($0 * c)) },
                        df: { 0.5 * (1 + erf($0 * c)) + $0 * Foundation.exp(-0.5 * $0 * $0) / (2 * Double.pi).squareRoot() })
    }

    func testGELUTanh() {
        // 0.5·x·(1 + tanh u) and 1 − tanh²u cancel for x ≪ 0 (tanh near −1 has float spacing 6e-8,
        // times ~17 in the derivative): absolute accuracy ~1e-6, so floor 1e-1 with tol 3e-5.
        let k = (2 / Double.pi).squareRoot()
        checkActivation("gelu_tanh", range: 8, tol: 3e-5, floor: 1e-1,
                        forward: { tk_gelu_tanh($0, $1, $2) }, backward: { tk_gelu_tanh_backward($0, $1, $2, $3) },
                        f: { 0.5 * $0 * (1 + Foundation.tanh(k * ($0 + 0.044715 * $0 * $0 * $0))) },
                        df: { x in
                            let t = Foundation.tanh(k * (x + 0.044715 * x * x * x))
                            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
                        })
    }

    func testTanh() {
        // tanh = 1 − 2/(e^{2x}+1): absolute accuracy ~1e-7, so floor 1e-2 (relative 1e-5 there).
        checkActivation("tanh", range: 6, tol: 1e-5, floor: 1e-2,
                        forward: { tk_tanh($0, $1, $2) }, backward: nil, f: { Foundation.tanh($0) }, df: { _ in 0 })
    }

    func testSwiGLU() {
        forEachBuild { build in
            for n in Self.sizes {
                let gate = random(n, -10, 10, seed: 7), up = random(n, -2, 2, seed: 8), dy = random(n, -1, 1, seed: 9)
                var y = [Float](repeating: 0, count: n)
                tk_swiglu(gate, up, &y, n)
                let silu = gate.map { Double($0) * Self.sigmoid(Double($0)) }
                assertClose(y, zip(silu, up).map { $0 * Double($1) }, tol: 2e-6, floor: 1e-6, "\(build) swiglu n=\(n)")
                var dg = [Float](repeating: 0, count: n), du = [Float](repeating: 0, count: n)
                tk_swiglu_backward(gate, up, dy, &dg, &du, n)
                let refDu = (0..<n).map { Double(dy[$0]) * silu[$0] }
                let refDg = (0..<n).map { i -> Double in
                    let g = Double(gate[i]), s = Self.sigmoid(g)
                    return Double(dy[i]) * Double(up[i]) * s * (1 + g * (1 - s))
                }
                assertClose(du, refDu, tol: 2e-6, floor: 1e-6, "\(build) swiglu_backward dup n=\(n)")
                // silu' crosses zero near −1.28: floor 1e-2.
                assertClose(dg, refDg, tol: 2e-6, floor: 1e-2, "\(build) swiglu_backward dgate n=\(n)")
                // Either output may be NULL.
                var dgOnly = [Float](repeating: 0, count: n)
                tk_swiglu_backward(gate, up, dy, &dgOnly, nil, n)
                XCTAssertEqual(dgOnly, dg, "\(build) swiglu_backward dgate alone n=\(n)")
                var duOnly = [Float](repeating: 0, count: n)
                tk_swiglu_backward(gate, up, dy, nil, &duOnly, n)
                XCTAssertEqual(duOnly, du, "\(build) swiglu_backward dup alone n=\(n)")
            }
        }
    }

    // MARK: - Normalisation

    func testRMSNorm() {
        forEachBuild { build in
            for n in Self.sizes {
                let rows = 3, eps: Float = 1e-6
                let x = random(rows * n, -3, 3, seed: 10), w = random(n, -2, 2, seed: 11), dy = random(rows * n, -1, 1, seed: 12)
                for useWeight in [true, false] {
                    var y = [Float](repeating: 0, count: rows * n), rstd = [Float](repeating: 0, count: rows)
                    w.withUnsafeBufferPointer { wp in
                        tk_rmsnorm(x, useWeight ? wp.baseAddress : nil, &y, &rstd, rows, n, eps)
                    }
                    var refY = [Double](), refR = [Double](), refDx = [Double](), refDw = [Double](repeating: 1, count: n)
                    for r in 0..<rows {
                        let xr = (0..<n).map { Double(x[r * n + $0]) }, g = (0..<n).map { Double(dy[r * n + $0]) }
                        let wr = (0..<n).map { useWeight ? Double(w[$0]) : 1 }
                        let rs = 1 / (xr.reduce(0) { $0 + $1 * $1 } / Double(n) + Double(eps)).squareRoot()
                        refR.append(rs)
                        refY += (0..<n).map { xr[$0] * rs * wr[$0] }
                        let dot = (0..<n).reduce(0.0) { $0 + wr[$1] * g[$1] * xr[$1] }
                        refDx += (0..<n).map { rs * (wr[$0] * g[$0] - xr[$0] * rs * rs * dot / Double(n)) }
                        for i in 0..<n { refDw[i] += g[i] * xr[i] * rs }
                    }
                    let tag = "\(build) rmsnorm\(useWeight ? "" : " (no weight)") n=\(n)"
                    assertClose(y, refY, tol: 2e-6, floor: 1e-2, tag)
                    assertClose(rstd, refR, tol: 2e-6, floor: 1e-30, "\(tag) rstd")
                    var dx = [Float](repeating: 0, count: rows * n), dw = [Float](repeating: 1, count: n)
                    w.withUnsafeBufferPointer { wp in
                        tk_rmsnorm_backward(x, useWeight ? wp.baseAddress : nil, rstd, dy, &dx, &dw, rows, n)
                    }
                    assertClose(dx, refDx, tol: 1e-5, floor: 1e-1, "\(tag) backward dx")
                    assertClose(dw, refDw, tol: 1e-5, floor: 1e-1, "\(tag) backward dw (accumulated onto 1)")
                }
            }
        }
    }

    func testLayerNorm() {
        forEachBuild { build in
            for n in Self.sizes {
                let rows = 3, eps: Float = 1e-5
                let x = random(rows * n, -3, 4, seed: 13), w = random(n, -2, 2, seed: 14), b = random(n, -1, 1, seed: 15)
                let dy = random(rows * n, -1, 1, seed: 16)
                for affine in [true, false] {
                    var y = [Float](repeating: 0, count: rows * n)
                    var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
                    w.withUnsafeBufferPointer { wp in
                        b.withUnsafeBufferPointer { bp in
                            tk_layernorm(x, affine ? wp.baseAddress : nil, affine ? bp.baseAddress : nil, &y, &mean, &rstd, rows, n, eps)
                        }
                    }
                    var refY = [Double](), refM = [Double](), refR = [Double](), refDx = [Double]()
                    var refDw = [Double](repeating: 1, count: n), refDb = [Double](repeating: 1, count: n)
                    for r in 0..<rows {
                        let xr = (0..<n).map { Double(x[r * n + $0]) }, g = (0..<n).map { Double(dy[r * n + $0]) }
                        let wr = (0..<n).map { affine ? Double(w[$0]) : 1 }, br = (0..<n).map { affine ? Double(b[$0]) : 0 }
                        let mu = xr.reduce(0, +) / Double(n)
                        let rs = 1 / (xr.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(n) + Double(eps)).squareRoot()
                        refM.append(mu); refR.append(rs)
                        let h = xr.map { ($0 - mu) * rs }
                        refY += (0..<n).map { h[$0] * wr[$0] + br[$0] }
                        let gw = (0..<n).map { g[$0] * wr[$0] }
                        let sg = gw.reduce(0, +) / Double(n), sgh = (0..<n).reduce(0.0) { $0 + gw[$1] * h[$1] } / Double(n)
                        refDx += (0..<n).map { rs * (gw[$0] - sg - h[$0] * sgh) }
                        for i in 0..<n { refDw[i] += g[i] * h[i]; refDb[i] += g[i] }
                    }
                    let tag = "\(build) layernorm\(affine ? "" : " (no affine)") n=\(n)"
                    assertClose(y, refY, tol: 5e-6, floor: 1e-1, tag)
                    assertClose(mean, refM, tol: 2e-6, floor: 1, "\(tag) mean")
                    assertClose(rstd, refR, tol: 2e-6, floor: 1e-30, "\(tag) rstd")
                    var dx = [Float](repeating: 0, count: rows * n)
                    var dw = [Float](repeating: 1, count: n), db = [Float](repeating: 1, count: n)
                    w.withUnsafeBufferPointer { wp in
                        tk_layernorm_backward(x, affine ? wp.baseAddress : nil, mean, rstd, dy, &dx, &dw, &db, rows, n)
                    }
                    // dx scales with rstd (316 for n = 1, where the exact dx is 0 and FMA contraction
                    // leaves ~1 ulp of g·rstd): floor 0.1·max rstd.
                    assertClose(dx, refDx, tol: 1e-5, floor: 1e-1 * refR.max()!, "\(tag) backward dx")
                    assertClose(dw, refDw, tol: 1e-5, floor: 1e-1, "\(tag) backward dw (accumulated onto 1)")
                    assertClose(db, refDb, tol: 1e-5, floor: 1e-1, "\(tag) backward db (accumulated onto 1)")
                }
            }
        }
    }

    // MARK: - Rotary, cross-entropy, AdamW

    func testRotary() {
        forEachBuild { build in
            for half in Self.sizes {
                let dim = 2 * half, rows = 4, heads = 3, positions = 50
                var cosT = [Float](), sinT = [Float]()
                for p in 0..<positions {
                    for i in 0..<half {
                        let angle = Double(p) * Foundation.pow(10_000, -2 * Double(i) / Double(dim))
                        cosT.append(Float(Foundation.cos(angle))); sinT.append(Float(Foundation.sin(angle)))
                    }
                }
                let pos: [Int32] = [0, 3, 17, 49]
                let x = random(rows * heads * dim, -2, 2, seed: 17)
                for neox in [true, false] {
                    for inverse in [false, true] {
                        var y = [Float](repeating: 0, count: x.count)
                        tk_rope(x, &y, rows, heads, dim, pos, cosT, sinT, neox ? 1 : 0, inverse ? 1 : 0)
                        var ref = [Double](repeating: 0, count: x.count)
                        for r in 0..<rows {
                            for h in 0..<heads {
                                let base = (r * heads + h) * dim
                                for i in 0..<half {
                                    let c = Double(cosT[Int(pos[r]) * half + i])
                                    let s = Double(sinT[Int(pos[r]) * half + i]) * (inverse ? -1 : 1)
                                    let (ia, ib) = neox ? (i, i + half) : (2 * i, 2 * i + 1)
                                    let a = Double(x[base + ia]), b = Double(x[base + ib])
                                    ref[base + ia] = a * c - b * s
                                    ref[base + ib] = b * c + a * s
                                }
                            }
                        }
                        assertClose(y, ref, tol: 1e-6, floor: 1,
                                    "\(build) rope \(neox ? "neox" : "interleaved")\(inverse ? " inverse" : "") half=\(half)")
                    }
                }
            }
        }
    }

    func testCrossEntropyBackward() {
        forEachBuild { build in
            for n in Self.sizes {
                let rows = 4
                let logits = random(rows * n, -8, 8, seed: 18)
                let targets: [Int32] = [Int32(n - 1), -100, 0, Int32(n / 2)]
                let scale: [Float] = [0.25, 0, 0.5, 1.5]
                var lse = [Float](), refLse = [Double]()
                for r in 0..<rows {
                    let row = logits[(r * n)..<((r + 1) * n)].map(Double.init)
                    let m = row.max()!
                    let l = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                    refLse.append(l); lse.append(Float(l))
                }
                var grad = [Float](repeating: .nan, count: rows * n)
                tk_cross_entropy_backward(logits, lse, targets, scale, &grad, rows, n)
                var ref = [Double]()
                for r in 0..<rows {
                    for c in 0..<n {
                        let p = Foundation.exp(Double(logits[r * n + c]) - refLse[r])
                        ref.append((p - (Int32(c) == targets[r] ? 1 : 0)) * Double(scale[r]))
                    }
                }
                assertClose(grad, ref, tol: 2e-6, floor: 1e-6, "\(build) cross_entropy_backward n=\(n)")
            }
        }
    }

    func testAdamW() {
        forEachBuild { build in
            for n in Self.sizes {
                let (lr, b1, b2, eps, wd): (Float, Float, Float, Float, Float) = (1e-3, 0.9, 0.999, 1e-8, 0.01)
                let step = 3.0
                let bc1 = Float(1 - Foundation.pow(Double(b1), step)), bc2 = Float(1 - Foundation.pow(Double(b2), step))
                var p = random(n, -1, 1, seed: 19), m = random(n, -0.1, 0.1, seed: 20)
                var v = random(n, 0, 0.01, seed: 21)
                let g = random(n, -1, 1, seed: 22)
                var refP = [Double](), refM = [Double](), refV = [Double]()
                for i in 0..<n {
                    let mi = Double(b1) * Double(m[i]) + (1 - Double(b1)) * Double(g[i])
                    let vi = Double(b2) * Double(v[i]) + (1 - Double(b2)) * Double(g[i]) * Double(g[i])
                    let pi = Double(p[i]) * (1 - Double(lr) * Double(wd))
                    let denom = vi.squareRoot() / Double(bc2).squareRoot() + Double(eps)
                    refM.append(mi); refV.append(vi); refP.append(pi - Double(lr) / Double(bc1) * mi / denom)
                }
                tk_adamw(&p, g, &m, &v, n, lr, b1, b2, eps, wd, bc1, bc2)
                // m = β1·m + (1−β1)·g cancels: floor at the terms' size (0.1).
                assertClose(m, refM, tol: 2e-6, floor: 1e-1, "\(build) adamw m n=\(n)")
                assertClose(v, refV, tol: 2e-6, floor: 1e-6, "\(build) adamw v n=\(n)")
                // p within ~2.5 ulp: the update (~1e-3) is then right to ~1e-4 of itself.
                assertClose(p, refP, tol: 3e-7, floor: 1e-3, "\(build) adamw p n=\(n)")
            }
        }
    }
}
