import CKernels
import Foundation
@testable import Quant
import Tensor
import TestSupport
import XCTest

/// The panel products (`tk_qpanel_quantize`, `tk_qpanel_matmul`) in their portable and AVX-512 VNNI
/// builds, against the same two double-precision references as the block kernels (see
/// ``QuantizedProductKernelTests``), with 32-value activation blocks for every weight type.
extension QuantizedProductKernelTests {
    /// The product through the Swift entry point (threads over panels of 16 weight rows).
    private func panelProduct(_ q: some RowDecodableMatrix, x: [Float], m: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: m * q.rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { IntegerPanelProduct.multiply(x: xp.baseAddress!, rows: m, weight: q, y: $0.baseAddress!) }
        }
        return y
    }

    private func checkPanelProduct(_ y: [Float], weight q: QuantizedMatrix, x: [Float], m: Int, _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        checkProduct(y, dense: q.dequantized().scalars, rows: q.rows, columns: q.columns, blockSize: 32, x: x, m: m, label,
                     file: file, line: line)
    }

    /// Codes, scales and sums of an activation row, in every build, byte for byte.
    func testPanelActivationRowsMatchTheReferenceQuantizer() {
        var x = randomActivations(256, seed: 4, scale: 3)
        x.replaceSubrange(0..<32, with: [Float](repeating: 0, count: 32))
        x.replaceSubrange(64..<96, with: randomActivations(32, seed: 5, scale: 1e30))
        x[100] = -1e-38
        x[200] = .infinity
        let k = x.count
        forEachBuild { build in
            var bytes = [UInt8](repeating: 0xAA, count: tk_qpanel_x_row_bytes(k))
            XCTAssertEqual(bytes.count, k + k / 8 * 3 + k / 4)
            bytes.withUnsafeMutableBytes { out in x.withUnsafeBufferPointer { tk_qpanel_quantize($0.baseAddress!, out.baseAddress!, k) } }
            let (d, q) = referenceQuantize(x, blockSize: 32)
            let finite = (0..<k).filter { $0 / 32 != 6 }  // block 6 holds inf: its scale is NaN, its codes do not matter
            XCTAssertEqual(finite.map { Int8(bitPattern: bytes[$0]) }, finite.map { q[$0] }, build)
            bytes.withUnsafeBytes { raw in
                XCTAssertTrue(raw.loadUnaligned(fromByteOffset: k + 4 * 6, as: Float.self).isNaN, "\(build): NaN scale for inf")
                for b in 0..<(k / 32) where b != 6 {
                    let sum = q[(32 * b)..<(32 * b + 32)].reduce(0) { $0 + Int32($1) }
                    XCTAssertEqual(raw.loadUnaligned(fromByteOffset: k + 4 * b, as: Float.self).bitPattern, d[b].bitPattern, "\(build) d[\(b)]")
                    XCTAssertEqual(raw.loadUnaligned(fromByteOffset: k + k / 8 + 4 * b, as: Float.self).bitPattern,
                                   (d[b] * Float(sum)).bitPattern, "\(build) d·Σ[\(b)]")
                    XCTAssertEqual(raw.loadUnaligned(fromByteOffset: k + k / 4 + 4 * b, as: Int32.self), sum, "\(build) Σ[\(b)]")
                    for h in 0..<2 {
                        let half = q[(32 * b + 16 * h)..<(32 * b + 16 * h + 16)].reduce(0) { $0 + Int32($1) }
                        XCTAssertEqual(raw.loadUnaligned(fromByteOffset: k + 3 * k / 8 + 4 * (2 * b + h), as: Int32.self), half,
                                       "\(build) Σ16[\(2 * b + h)]")
                    }
                }
            }
        }
    }

    /// Every type; full and partial panels of 16 weight rows; full and partial groups of eight
    /// activation rows; one and several blocks per row (and an odd number of 32-value blocks).
    func testPanelProductsMatchBothReferences() throws {
        try forEachBuild { build in
            for (t, type) in Self.types.enumerated() {
                let shapes = [(37, 256), (16, 768), (5, 512)] + (type.blockSize == 32 ? [(19, 224)] : [])
                for (rows, columns) in shapes {
                    let q = try randomMatrix(type, rows: rows, columns: columns, seed: UInt64(300 + 10 * t + rows))
                    for m in [1, 7, 8, 17] {
                        let x = randomActivations(m * columns, seed: UInt64(11 * m + rows))
                        checkPanelProduct(panelProduct(q, x: x, m: m), weight: q, x: x, m: m, "\(build) \(type) \(rows)x\(columns) m=\(m)")
                    }
                }
            }
        }
    }

    /// Zero blocks, the largest and smallest fp16 scales, all-zero activation rows, large activations.
    func testPanelProductEdgeCases() throws {
        let scales: [Float] = [0, 40_000, 0.02, 6e-8, 0, 1e-3]
        try forEachBuild { build in
            for (t, type) in Self.types.enumerated() {
                let q = try randomMatrix(type, rows: 21, columns: 768, scales: scales, seed: UInt64(950 + t))
                var x = randomActivations(3 * 768, seed: 6, scale: 1e4)
                x.replaceSubrange(768..<1536, with: [Float](repeating: 0, count: 768))
                let y = panelProduct(q, x: x, m: 3)
                XCTAssertEqual(Array(y[21..<42]), [Float](repeating: 0, count: 21), "\(build) \(type): zero activations")
                checkPanelProduct(y, weight: q, x: x, m: 3, "\(build) \(type) edge")
            }
        }
    }

    /// The VNNI build and the portable build take the same integer sums: they agree to Float32
    /// summation order.
    func testPanelBuildsAgree() throws {
        tk_disable_vnni(0)
        guard tk_uses_vnni() == 1 else { throw XCTSkip("no AVX-512 VNNI on this CPU") }
        for (t, type) in Self.types.enumerated() {
            let q = try randomMatrix(type, rows: 40, columns: 512, seed: UInt64(70 + t))
            let x = randomActivations(12 * 512, seed: 71)
            let vnni = panelProduct(q, x: x, m: 12)
            tk_disable_vnni(1)
            let portable = panelProduct(q, x: x, m: 12)
            tk_disable_vnni(0)
            XCTAssertLessThan(maxAbsoluteError(vnni, portable), 1e-5 * (portable.map(abs).max() ?? 0) + 1e-30, "\(type)")
        }
    }

    /// LLM.int8 weights as they dequantize; NF4/FP4 weights with their 16 values rounded to 127ths
    /// of the block absmax (the reference is built from the codes), for blocks of 32–256 values.
    func testPanelProductsOfBitsAndBytesWeights() throws {
        try forEachBuild { build in
            for (n, k) in [(19, 96), (32, 256)] {
                let w = try Int8Matrix(quantizing: randomActivations(n * k, seed: 41, scale: 0.3), rows: n, columns: k)
                XCTAssertTrue(IntegerPanelProduct.supports(w))
                for m in [3, 9] {
                    let x = randomActivations(m * k, seed: UInt64(42 + m))
                    checkProduct(panelProduct(w, x: x, m: m), dense: w.dequantized(), rows: n, columns: k, blockSize: 32, x: x, m: m,
                                 "\(build) int8 \(n)x\(k) m=\(m)")
                }
            }
            for (type, blockSize, n, k) in [(FourBitType.nf4, 64, 21, 192), (.fp4, 32, 16, 96), (.nf4, 256, 5, 512)] {
                let w = try FourBitMatrix(quantizing: randomActivations(n * k, seed: 43, scale: 0.5), rows: n, columns: k,
                                          type: type, blockSize: blockSize)
                XCTAssertTrue(IntegerPanelProduct.supports(w))
                let table = type.codeValues.map { Double(($0 * 127).rounded(.toNearestOrEven)) / 127 }
                let rounded = (0..<(n * k)).map { i -> Float in
                    let byte = w.packed[i / 2], code = i % 2 == 0 ? byte >> 4 : byte & 0x0F
                    return Float(table[Int(code)] * Double(w.absmax[i / blockSize]))
                }
                XCTAssertLessThan(maxAbsoluteError(rounded, w.dequantized()), (w.absmax.max() ?? 0) / 254 * 1.0001)
                for m in [1, 10] {
                    let x = randomActivations(m * k, seed: UInt64(44 + m))
                    checkProduct(panelProduct(w, x: x, m: m), dense: rounded, rows: n, columns: k, blockSize: 32, x: x, m: m,
                                 "\(build) \(type) bs=\(blockSize) m=\(m)")
                }
            }
        }
        let straddling = try FourBitMatrix(quantizing: randomActivations(3 * 96, seed: 45), rows: 3, columns: 96, blockSize: 64)
        XCTAssertFalse(IntegerPanelProduct.supports(straddling))
        XCTAssertFalse(IntegerPanelProduct.supports(try Int8Matrix(quantizing: randomActivations(3 * 40, seed: 46), rows: 3, columns: 40)))
    }

    /// The input-gradient panels: a Float32 matrix read transposed, each 32-row piece of a column
    /// rounded to 8 bits as it is packed (the reference rounds the same way), written or added.
    func testTransposedFloat32Panels() throws {
        try forEachBuild { build in
            for (k, columns, m) in [(96, 37, 9), (256, 16, 3)] {
                var w = randomActivations(k * columns, seed: UInt64(50 + k), scale: 0.2)
                w.replaceSubrange(0..<columns, with: [Float](repeating: 0, count: columns))  // a zero row
                var rounded = [Float](repeating: 0, count: columns * k)  // [columns, k]: row c is column c of W
                for c in 0..<columns {
                    for b in 0..<(k / 32) {
                        let piece = (0..<32).map { w[(32 * b + $0) * columns + c] }
                        let amax = piece.map(abs).max()!, inverse: Float = amax > 0 ? 127 / amax : 0
                        for (i, v) in piece.enumerated() {
                            rounded[c * k + 32 * b + i] = Swift.min(127, Swift.max(-127, (v * inverse).rounded(.toNearestOrEven))) * (amax / 127)
                        }
                    }
                }
                let x = randomActivations(m * k, seed: UInt64(60 + k))
                let xRowBytes = tk_qpanel_x_row_bytes(k)
                var xq = [UInt8](repeating: 0, count: m * xRowBytes)
                xq.withUnsafeMutableBytes { out in
                    x.withUnsafeBufferPointer { for i in 0..<m { tk_qpanel_quantize($0.baseAddress! + i * k, out.baseAddress! + i * xRowBytes, k) } }
                }
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: tk_qpanel_scratch_bytes(8, k), alignment: 64)
                defer { scratch.deallocate() }
                var y = [Float](repeating: .nan, count: m * columns)
                for accumulate: Int32 in [0, 1] {
                    w.withUnsafeBufferPointer { wp in
                        xq.withUnsafeBytes { xp in
                            tk_qpanel_matmul_f32t(wp.baseAddress!, columns, k, columns, xp.baseAddress!, xRowBytes, m, &y, columns, accumulate, scratch)
                        }
                    }
                }
                checkProduct(y.map { $0 / 2 }, dense: rounded, rows: columns, columns: k, blockSize: 32, x: x, m: m,
                             "\(build) f32t \(k)x\(columns) m=\(m)")
            }
        }
    }

    /// After a forward pass on panels the linear op's input gradient runs on panels too: within 2%
    /// of the exact (decoded-tile) gradient's largest entry, and not equal to it.
    func testInputGradientAfterPanelForward() throws {
        var rng = SeededRandom(seed: 8)
        for (t, type) in [GGMLType.q5_0, .q4_K, .q8_0].enumerated() {
            let q = try randomMatrix(type, rows: 64, columns: 512, seed: UInt64(80 + t))
            let x = Parameter(Tensor.normal([20, 512], using: &rng))
            let weights = Tensor.normal([20, 64], using: &rng)
            let panels = (Tensor.linear(x.tensor, quantizedWeight: q, kernel: .panels) * weights).sum().gradients()[x]!.scalars
            let tiles = (Tensor.linear(x.tensor, quantizedWeight: q, kernel: .decodedTiles) * weights).sum().gradients()[x]!.scalars
            let scale = tiles.map(abs).max()!
            XCTAssertLessThan(maxAbsoluteError(panels, tiles), 0.02 * scale, "\(type)")
            XCTAssertNotEqual(panels, tiles, "\(type): the panels round dy and W")
        }
    }
}
