import CKernels
import Foundation
@testable import Quant
import Tensor
import TestSupport
import XCTest

/// The integer block kernels (`tk_quantize_q8_*`, `tk_qmatmul`) in their AVX2 and portable builds,
/// on random blocks of every type they cover, against two double-precision references built from
/// the Swift dequantizers (themselves checked against gguf-py):
///
/// - *same quantization*: Σ W·x̂ with x̂ the activations quantized as the kernels do (by a Swift
///   re-implementation, compared byte for byte). The kernels' block sums are exact integers, so the
///   only differences are Float32 rounding of the scale products and of the sum over blocks:
///   allowed 2e-5 · Σ|W|·|x̂| (a few hundred roundings of 6e-8 at most).
/// - *exact*: Σ W·x. Rounding an activation moves it by at most half a step, absmax_b / 254, so
///   |Δy| ≤ Σ_b absmax_b / 254 · Σ_(c∈b) |W_c|, plus the rounding allowance above.
///
/// The bitsandbytes kernels (`tk_fourbit_matmul`, `tk_int8_matmul`) multiply Float32 activations
/// with weights decoded in registers and are checked against the exact product.
final class QuantizedProductKernelTests: XCTestCase {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q5_0, .q4_K, .q5_K, .q6_K]

    override func tearDown() {
        tk_force_portable(0)
        tk_disable_vnni(0)
        super.tearDown()
    }

    /// Runs `body` with the portable kernels, then with the AVX2 ones when the CPU has them, then
    /// with `tk_qmatmul`'s AVX-512 VNNI build when it has that too.
    func forEachBuild(_ body: (String) throws -> Void) rethrows {
        tk_force_portable(1)
        XCTAssertEqual(tk_uses_vnni(), 0, "the portable build excludes VNNI")
        try body("portable")
        tk_force_portable(0)
        tk_disable_vnni(1)
        XCTAssertEqual(tk_uses_vnni(), 0)
        if tk_uses_avx2() == 1 { try body("avx2") }
        tk_disable_vnni(0)
        if tk_uses_vnni() == 1 { try body("avx512-vnni") }
    }

    /// The VNNI build's 32-block products are the AVX2 build's integer sums, so the two agree bit
    /// for bit on every type.
    func testVNNIBuildEqualsTheAVX2Build() throws {
        tk_disable_vnni(0)
        guard tk_uses_vnni() == 1 else { throw XCTSkip("no AVX-512 VNNI on this CPU") }
        for (i, type) in Self.types.enumerated() {
            let q = try randomMatrix(type, rows: 37, columns: 4 * 256, seed: 40 + UInt64(i))
            var rng = SeededRandom(seed: 90 + UInt64(i))
            for m in [1, 3, 6] {
                let x = Tensor.normal([m, q.columns], using: &rng).scalars
                let vnni = kernelProduct(q, x: x, m: m)
                tk_disable_vnni(1)
                let avx2 = kernelProduct(q, x: x, m: m)
                tk_disable_vnni(0)
                XCTAssertEqual(vnni.map(\.bitPattern), avx2.map(\.bitPattern), "\(type.name), \(m) rows")
            }
        }
    }

    // MARK: Random blocks

    /// A random fp16 scale, written little-endian.
    private func half(_ v: Float) -> [UInt8] {
        let bits = Float16(v).bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    private func randomBytes(_ n: Int, _ rng: inout SeededRandom) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    /// One random block of `type`; `scale` sets its fp16 scale(s), zero gives an all-zero block.
    private func randomBlock(_ type: GGMLType, scale: Float, _ rng: inout SeededRandom) -> [UInt8] {
        if scale == 0 { return [UInt8](repeating: 0, count: type.bytesPerBlock) }
        let d = half(scale * (0.5 + rng.nextUniform()))  // at most 1.5 · scale
        switch type {
        case .q8_0, .q4_0, .q5_0: return d + randomBytes(type.bytesPerBlock - 2, &rng)
        case .q4_K, .q5_K: return d + half(scale * rng.nextUniform()) + randomBytes(type.bytesPerBlock - 4, &rng)
        case .q6_K: return randomBytes(208, &rng) + d
        default: fatalError("no integer kernel for \(type)")
        }
    }

    /// A random [rows, columns] matrix; `scales` cycles through the blocks' scales.
    func randomMatrix(_ type: GGMLType, rows: Int, columns: Int, scales: [Float] = [0.02], seed: UInt64) throws -> QuantizedMatrix {
        var rng = SeededRandom(seed: seed)
        let blocks = rows * columns / type.blockSize
        let bytes = (0..<blocks).flatMap { randomBlock(type, scale: scales[$0 % scales.count], &rng) }
        return try QuantizedMatrix(type: type, rows: rows, columns: columns, copying: bytes)
    }

    // MARK: References

    /// The activation quantization the kernels implement: per block d = absmax/127, q = rint(x·127/absmax).
    func referenceQuantize(_ x: [Float], blockSize: Int) -> (d: [Float], q: [Int8]) {
        var d = [Float](), q = [Int8]()
        for b in stride(from: 0, to: x.count, by: blockSize) {
            let block = x[b..<(b + blockSize)]
            let amax = block.reduce(Float(0)) { Swift.max($0, abs($1)) }
            let inverse: Float = amax > 0 ? 127 / amax : 0
            d.append(amax / 127)
            for v in block { q.append(Int8(Swift.min(127, Swift.max(-127, (v * inverse).rounded(.toNearestOrEven))))) }
        }
        return (d, q)
    }

    /// Checks `actual` ([m, n]) against both references for W [n, k] and x [m, k].
    private func checkProduct(_ actual: [Float], weight q: QuantizedMatrix, x: [Float], m: Int, _ label: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        checkProduct(actual, dense: q.dequantized().scalars, rows: q.rows, columns: q.columns,
                     blockSize: IntegerBlockProduct.activationFormat(for: q.type)!.blockSize, x: x, m: m, label, file: file, line: line)
    }

    /// Checks `actual` ([m, rows]) for the dense weight `w` [rows, columns] with activation blocks of `blockSize`.
    func checkProduct(_ actual: [Float], dense w: [Float], rows n: Int, columns k: Int, blockSize: Int, x: [Float], m: Int,
                              _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<m {
            let row = Array(x[(i * k)..<((i + 1) * k)])
            let (d, codes) = referenceQuantize(row, blockSize: blockSize)
            for r in 0..<n {
                var same = 0.0, exact = 0.0, magnitude = 0.0, bound = 0.0
                for c in 0..<k {
                    let wc = Double(w[r * k + c]), xq = Double(d[c / blockSize]) * Double(codes[c])
                    same += wc * xq
                    exact += wc * Double(row[c])
                    magnitude += abs(wc * xq)
                    bound += abs(wc) * Double(d[c / blockSize]) / 2
                }
                let y = Double(actual[i * n + r]), rounding = 2e-5 * magnitude + 1e-30
                if !(abs(y - same) <= rounding) {
                    XCTFail("\(label) y[\(i)][\(r)] = \(y), same-quantization reference \(same) (allowed \(rounding))", file: file, line: line)
                    return
                }
                if !(abs(y - exact) <= bound * (1 + 1e-6) + rounding) {
                    XCTFail("\(label) y[\(i)][\(r)] = \(y), exact \(exact) (activation bound \(bound))", file: file, line: line)
                    return
                }
            }
        }
    }

    /// The kernel product on one thread, straight from C.
    private func kernelProduct(_ q: QuantizedMatrix, x: [Float], m: Int) -> [Float] {
        let format = IntegerBlockProduct.activationFormat(for: q.type)!
        var y = [Float](repeating: .nan, count: m * q.rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                IntegerBlockProduct.multiply(x: xp.baseAddress!, rows: m, weight: q, format: format, y: yp.baseAddress!)
            }
        }
        return y
    }

    func randomActivations(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in scale * (2 * rng.nextUniform() - 1) }
    }

    // MARK: Tests

    func testActivationBlocksMatchTheReferenceQuantizer() {
        var x = randomActivations(2 * 256, seed: 1, scale: 3)
        x.replaceSubrange(0..<32, with: [Float](repeating: 0, count: 32))            // an all-zero block
        x.replaceSubrange(256..<288, with: randomActivations(32, seed: 2, scale: 1e30))  // huge values
        x[300] = -1e-38                                                                   // a tiny value
        forEachBuild { build in
            for blockSize in [32, 256] {
                let format = IntegerBlockProduct.activationFormat(for: blockSize == 32 ? .q8_0 : .q4_K)!
                var bytes = [UInt8](repeating: 0xAA, count: format.rowBytes(columns: x.count))
                x.withUnsafeBufferPointer { xp in
                    bytes.withUnsafeMutableBytes { format.quantize(xp.baseAddress!, rows: 1, columns: x.count, into: $0.baseAddress!) }
                }
                let (d, q) = referenceQuantize(x, blockSize: blockSize)
                for b in 0..<d.count {
                    let block = Array(bytes[(b * format.blockBytes)..<((b + 1) * format.blockBytes)])
                    let stored = block.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
                    XCTAssertEqual(stored, d[b].bitPattern, "\(build) \(blockSize)-block \(b) scale")
                    let codes = block[4..<(4 + blockSize)].map { Int8(bitPattern: $0) }
                    XCTAssertEqual(codes, Array(q[(b * blockSize)..<((b + 1) * blockSize)]), "\(build) \(blockSize)-block \(b) codes")
                    if blockSize == 32 {
                        let sum = block.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 36, as: Float.self) }
                        let expected = d[b] * Float(codes.reduce(0) { $0 + Int($1) })
                        XCTAssertEqual(sum.bitPattern, expected.bitPattern, "\(build) 32-block \(b) scaled code sum")
                    }
                    if blockSize == 256 {
                        for g in 0..<16 {
                            let sum = block.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 260 + 2 * g, as: Int16.self) }
                            XCTAssertEqual(Int(sum), codes[(16 * g)..<(16 * g + 16)].reduce(0) { $0 + Int($1) }, "\(build) bsums[\(g)]")
                        }
                    }
                }
            }
        }
    }

    /// Every type, M = 1…5 and 9 activation rows (full and partial groups of four), odd numbers of
    /// output rows, one, several and (for 32-value blocks) an odd number of blocks per row.
    func testProductsMatchBothReferences() throws {
        try forEachBuild { build in
            for (t, type) in Self.types.enumerated() {
                // 224 columns: an odd number of 32-value blocks (the kernels pair blocks).
                let shapes = [(1, 256), (7, 768), (4, 512)] + (type.blockSize == 32 ? [(5, 224), (3, 32)] : [])
                for (rows, columns) in shapes {
                    let q = try randomMatrix(type, rows: rows, columns: columns, seed: UInt64(100 * t + rows))
                    for m in [1, 2, 3, 4, 5, 9] {
                        let x = randomActivations(m * columns, seed: UInt64(7 * m + rows))
                        checkProduct(kernelProduct(q, x: x, m: m), weight: q, x: x, m: m, "\(build) \(type) \(rows)x\(columns) m=\(m)")
                    }
                }
            }
        }
    }

    /// Zero blocks, the largest and the smallest fp16 scales, all-zero activation rows and large
    /// activations.
    func testEdgeCaseBlocks() throws {
        let scales: [Float] = [0, 40_000, 0.02, 6e-8, 0, 1e-3]  // up to 60000, near the fp16 maximum
        try forEachBuild { build in
            for (t, type) in Self.types.enumerated() {
                let q = try randomMatrix(type, rows: 5, columns: 768, scales: scales, seed: UInt64(900 + t))
                var x = randomActivations(3 * 768, seed: 5, scale: 1e4)
                x.replaceSubrange(768..<1536, with: [Float](repeating: 0, count: 768))
                let y = kernelProduct(q, x: x, m: 3)
                XCTAssertEqual(Array(y[5..<10]), [Float](repeating: 0, count: 5), "\(build) \(type): zero activations")
                checkProduct(y, weight: q, x: x, m: 3, "\(build) \(type) edge")
            }
        }
    }

    /// More activation rows than one pass of the kernel takes (it walks W once per ~32 KB of them).
    func testManyActivationRows() throws {
        for type in [GGMLType.q8_0, .q6_K] {
            let q = try randomMatrix(type, rows: 3, columns: 256, seed: 77)
            let format = try XCTUnwrap(IntegerBlockProduct.activationFormat(for: type))
            let m = 32_768 / format.rowBytes(columns: 256) + 6
            let x = randomActivations(m * 256, seed: 78)
            checkProduct(kernelProduct(q, x: x, m: m), weight: q, x: x, m: m, "\(type) m=\(m)")
        }
    }

    /// The linear op picks the integer kernels for few rows (within the activation bound of the
    /// decoded-tile product, and not equal to it) and, for many, the integer panels with AVX-512 VNNI
    /// or else decoded tiles; it threads over output rows, adds the bias, and keeps the decoded-tile
    /// gradient.
    func testLinearOpUsesTheIntegerKernels() throws {
        var rng = SeededRandom(seed: 3)
        for (t, type) in Self.types.enumerated() {
            let q = try randomMatrix(type, rows: 301, columns: 512, seed: UInt64(40 + t))
            for m in [1, 6] {
                let xValues = randomActivations(m * 512, seed: UInt64(m))
                let x = try Tensor(shape: [m, 512], values: xValues)
                let bias = Tensor.normal([301], using: &rng)
                let integer = Tensor.linear(x, quantizedWeight: q, bias: bias).scalars
                let tiles = Tensor.linear(x, quantizedWeight: q, bias: bias, kernel: .decodedTiles).scalars
                XCTAssertNotEqual(integer, tiles, "\(type): the integer path quantizes the activations")
                let withoutBias = zip(integer, (0..<(m * 301)).map { bias.scalars[$0 % 301] }).map { $0 - $1 }
                checkProduct(withoutBias, weight: q, x: xValues, m: m, "\(type) linear m=\(m)")
            }
            let many = Tensor.normal([QuantizedProductKernel.blockKernelMaximumRows + 1, 512], using: &rng)
            let manyRows = Tensor.linear(many, quantizedWeight: q).scalars
            if IntegerPanelProduct.isFast {
                XCTAssertEqual(manyRows, Tensor.linear(many, quantizedWeight: q, kernel: .panels).scalars, "\(type): panels for many rows")
            } else {
                XCTAssertEqual(manyRows, Tensor.linear(many, quantizedWeight: q, kernel: .decodedTiles).scalars, "\(type): tiles for many rows")
            }
            let blocks = Tensor.linear(many, quantizedWeight: q, kernel: .blocks).scalars
            checkProduct(blocks, weight: q, x: many.scalars, m: many.shape[0], "\(type) linear, blocks forced")
            let xp = Parameter(Tensor.normal([2, 512], using: &rng))
            let g1 = Tensor.linear(xp.tensor, quantizedWeight: q).sum().gradients()[xp]?.scalars
            let g2 = Tensor.linear(xp.tensor, quantizedWeight: q, kernel: .decodedTiles).sum().gradients()[xp]?.scalars
            XCTAssertEqual(g1, g2, "\(type): same backward on both paths")
        }
    }

    /// Checks y [m, n] against the double-precision product of x with the dense `w` [n, k]: the
    /// bitsandbytes kernels use the dequantized weights, so only Float32 summation differs (allowed
    /// 1e-5 · Σ|W·x|).
    private func checkExactProduct(_ y: [Float], dense w: [Float], n: Int, k: Int, x: [Float], m: Int, _ label: String) {
        for i in 0..<m {
            for r in 0..<n {
                var exact = 0.0, magnitude = 0.0
                for c in 0..<k {
                    exact += Double(w[r * k + c]) * Double(x[i * k + c])
                    magnitude += abs(Double(w[r * k + c]) * Double(x[i * k + c]))
                }
                XCTAssertEqual(Double(y[i * n + r]), exact, accuracy: 1e-5 * magnitude + 1e-30, "\(label) y[\(i)][\(r)]")
            }
        }
    }

    /// NF4/FP4 through the fused table-lookup kernel, for M = 1…6 (full and partial groups of four);
    /// blocks that straddle rows take the decoded tiles.
    func testFourBitProduct() throws {
        try forEachBuild { build in
            for (type, blockSize, columns) in [(FourBitType.nf4, 64, 192), (.fp4, 32, 96), (.nf4, 256, 512)] {
                let n = 7
                let w = try FourBitMatrix(quantizing: randomActivations(n * columns, seed: 31, scale: 0.5), rows: n, columns: columns,
                                          type: type, blockSize: blockSize)
                for m in [1, 3, 6] {
                    let x = randomActivations(m * columns, seed: UInt64(32 + m))
                    let y = Tensor.linear(try Tensor(shape: [m, columns], values: x), quantizedWeight: w).scalars
                    checkExactProduct(y, dense: w.dequantized(), n: n, k: columns, x: x, m: m, "\(build) \(type) bs=\(blockSize) m=\(m)")
                }
            }
        }
        let straddling = try FourBitMatrix(quantizing: randomActivations(3 * 96, seed: 35), rows: 3, columns: 96, blockSize: 64)
        let x = try Tensor(shape: [2, 96], values: randomActivations(192, seed: 36))
        XCTAssertEqual(Tensor.linear(x, quantizedWeight: straddling).scalars,
                       Tensor.linear(x, quantizedWeight: straddling, kernel: .decodedTiles).scalars)
    }

    /// LLM.int8 through the fused kernel, column counts with and without a tail of fewer than 16.
    func testInt8Product() throws {
        try forEachBuild { build in
            for (n, k) in [(9, 160), (5, 37)] {
                let w = try Int8Matrix(quantizing: randomActivations(n * k, seed: 21, scale: 0.3), rows: n, columns: k)
                for m in [1, 5] {
                    let x = randomActivations(m * k, seed: UInt64(22 + m))
                    let y = Tensor.linear(try Tensor(shape: [m, k], values: x), quantizedWeight: w).scalars
                    checkExactProduct(y, dense: w.dequantized(), n: n, k: k, x: x, m: m, "\(build) int8 \(n)x\(k) m=\(m)")
                }
            }
        }
    }

    /// A two-layer quantized MLP (Q5_0 up, Q6_K down, Q8_0 head, as in the default model) against the
    /// same network with the dequantized weights in Float32: logits agree within 2% of their range.
    func testQuantizedMLPLogitsMatchTheDenseNetwork() throws {
        let up = try randomMatrix(.q5_0, rows: 512, columns: 256, scales: [0.004], seed: 11)
        let down = try randomMatrix(.q6_K, rows: 256, columns: 512, scales: [0.0005], seed: 12)
        let head = try randomMatrix(.q8_0, rows: 97, columns: 256, scales: [0.0003], seed: 13)
        var rng = SeededRandom(seed: 14)
        let x = Tensor.normal([5, 256], using: &rng)
        func network(_ linear: (Tensor, QuantizedMatrix) -> Tensor) -> [Float] {
            let a = linear(x, up).silu()
            return linear(x + linear(a, down), head).scalars
        }
        let quantized = network { Tensor.linear($0, quantizedWeight: $1) }
        let dense = network { Tensor.linear($0, weight: $1.dequantized()) }
        let range = Double(dense.max()! - dense.min()!)
        XCTAssertGreaterThan(range, 0.1)
        XCTAssertLessThan(Double(maxAbsoluteError(quantized, dense)), 0.02 * range)
        XCTAssertNotEqual(quantized, dense)
    }
}
