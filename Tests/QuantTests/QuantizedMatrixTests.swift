import Foundation
import Quant
import Tensor
import TestSupport
import XCTest

/// `QuantizedMatrix` and the quantized linear op on every block type's fixture (bytes from
/// Tools/make_gguf_fixtures.py, dense values from gguf-py's `dequantize`): products and gradients
/// must equal the dense computation, and the gradient must match finite differences. These use the
/// decoded-tile product, which is exact up to summation order; the integer block kernels (which
/// also quantize the activations) are checked in QuantizedProductKernelTests.
final class QuantizedMatrixTests: XCTestCase {
    /// The fixture of `type` as a [rows, columns] matrix and its dense values.
    private func matrix(_ type: GGMLType) throws -> (QuantizedMatrix, Tensor) {
        let fixtures = Fixtures.url("QuantTests", "ggml")
        let bytes = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("\(type.name).blocks")))
        let raw = try Data(contentsOf: fixtures.appendingPathComponent("\(type.name).f32"))
        let values = raw.withUnsafeBytes { b in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        let columns = max(type.blockSize, 128)
        let rows = values.count / columns
        return (try QuantizedMatrix(type: type, rows: rows, columns: columns, copying: bytes),
                try Tensor(shape: [rows, columns], values: Array(values.prefix(rows * columns))))
    }

    private var types: [GGMLType] { GGMLType.allCases.filter { $0 != .f32 } }

    func testDequantizedEqualsTheReference() throws {
        for type in types {
            let (q, dense) = try matrix(type)
            XCTAssertEqual(q.dequantized().scalars.map(\.bitPattern), dense.scalars.map(\.bitPattern), type.name)
            XCTAssertEqual(q.byteCount, type.byteCount(forValues: q.rows * q.columns), type.name)
            var row = [Float](repeating: .nan, count: q.columns)
            row.withUnsafeMutableBufferPointer { q.dequantizeRows(1..<2, into: $0.baseAddress!) }
            XCTAssertEqual(row.map(\.bitPattern), dense.scalars[q.columns..<(2 * q.columns)].map(\.bitPattern), "\(type.name) row 1")
        }
    }

    func testProductEqualsDenseProduct() throws {
        var rng = SeededRandom(seed: 5)
        for type in types {
            let (q, dense) = try matrix(type)
            let bias = Tensor.normal([q.rows], using: &rng)
            for rows in [1, 3, 17] {  // one row takes the matrix-vector path
                let x = Tensor.normal([rows, q.columns], using: &rng)
                let expected = Tensor.linear(x, weight: dense, bias: bias).scalars
                let actual = Tensor.linear(x, quantizedWeight: q, bias: bias, kernel: .decodedTiles).scalars
                XCTAssertLessThan(maxRelativeError(actual, expected, floor: 1e-2), 1e-4, "\(type.name), \(rows) rows")
            }
        }
    }

    func testRejectsColumnsThatAreNotWholeBlocksAndShortBuffers() throws {
        for type in GGMLType.allCases where type.blockSize > 1 {
            XCTAssertThrowsError(try QuantizedMatrix(type: type, rows: 1, columns: type.blockSize + 1,
                                                     copying: [UInt8](repeating: 0, count: 4 * type.bytesPerBlock)), type.name)
            XCTAssertThrowsError(try QuantizedMatrix(type: type, rows: 2, columns: type.blockSize,
                                                     copying: [UInt8](repeating: 0, count: type.bytesPerBlock)), type.name)
        }
    }

    /// dL/dx of L = Σ (x·Wᵀ + b) ⊙ R: equal to the dense op's, and to central differences.
    func testInputGradientMatchesDenseAndFiniteDifferences() throws {
        var rng = SeededRandom(seed: 8)
        for type in [GGMLType.q8_0, .q4_0, .q5_1, .q4_K, .q6_K] {  // the F16/BF16 fixtures hold inf and NaN on purpose
            let (q, dense) = try matrix(type)
            let x = Parameter(Tensor.normal([3, q.columns], using: &rng))
            let bias = Parameter(Tensor.normal([q.rows], using: &rng))
            let r = Tensor.normal([3, q.rows], using: &rng)
            let quantized = (Tensor.linear(x.tensor, quantizedWeight: q, bias: bias.tensor) * r).sum().gradients()
            let reference = (Tensor.linear(x.tensor, weight: dense, bias: bias.tensor) * r).sum().gradients()
            let dx = try XCTUnwrap(quantized[x]).scalars
            XCTAssertLessThan(maxRelativeError(dx, try XCTUnwrap(reference[x]).scalars, floor: 1e-2), 1e-4, type.name)
            XCTAssertLessThan(maxRelativeError(try XCTUnwrap(quantized[bias]).scalars, try XCTUnwrap(reference[bias]).scalars), 1e-5, type.name)

            func loss(_ values: [Float]) throws -> Double {
                let y = try GradientMode.withoutGradients { Tensor.linear(try Tensor(shape: x.shape, values: values), quantizedWeight: q, kernel: .decodedTiles).scalars }
                return zip(y, r.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            let base = x.value.scalars, h: Float = 1e-2
            let scale = max(1e-3, dx.map { abs(Double($0)) }.max() ?? 0)
            for i in stride(from: 0, to: base.count, by: max(1, base.count / 16)) {
                var plus = base, minus = base
                plus[i] += h
                minus[i] -= h
                let numeric = (try loss(plus) - loss(minus)) / Double(2 * h)
                XCTAssertLessThan(abs(numeric - Double(dx[i])) / scale, 2e-3, "\(type.name) dx[\(i)]: \(dx[i]) vs \(numeric)")
            }
        }
    }

    /// From 64 input rows (prefill, training) the decoded-tile product decodes W in shared chunks of
    /// 2^22 values; a Q5_0 matrix of 34000 × 128 takes two of 17000 rows. Forward and input
    /// gradient must equal the dense product with the dequantized weight, at 63 rows (per-worker
    /// tiles) and at 70 (shared chunks), up to float summation order.
    func testSharedChunkProductsEqualDenseOnAWideMatrix() throws {
        var rng = SeededRandom(seed: 21)
        let (rows, columns) = (34_000, 128)
        let values = Tensor.normal([rows, columns], using: &rng).scalars
        var bytes = [UInt8](repeating: 0, count: try XCTUnwrap(GGMLType.q5_0.byteCount(forValues: values.count)))
        try values.withUnsafeBufferPointer { v in try bytes.withUnsafeMutableBytes { try GGMLType.q5_0.quantize(v, into: $0) } }
        let q = try QuantizedMatrix(type: .q5_0, rows: rows, columns: columns, copying: bytes)
        let dense = q.dequantized()
        for inputRows in [63, 70] {
            let x = Parameter(Tensor.normal([inputRows, columns], using: &rng))
            let r = Tensor.normal([inputRows, rows], using: &rng)
            let yq = Tensor.linear(x.tensor, quantizedWeight: q, kernel: .decodedTiles)
            let yd = Tensor.linear(x.tensor, weight: dense)
            XCTAssertLessThan(errorOverRange(yq.scalars, yd.scalars), 1e-5, "forward, \(inputRows) rows")
            let gq = try XCTUnwrap((yq * r).sum().gradients()[x]).scalars
            let gd = try XCTUnwrap((yd * r).sum().gradients()[x]).scalars
            XCTAssertLessThan(errorOverRange(gq, gd), 1e-5, "input gradient, \(inputRows) rows")
        }
    }

    /// Largest |a − b| over the largest |b|: summation-order differences of long float sums, without
    /// blowing up on the outputs that happen to cancel to near zero.
    private func errorOverRange(_ a: [Float], _ b: [Float]) -> Float {
        let range = b.map(abs).max() ?? 0
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / Swift.max(range, .leastNormalMagnitude) } ?? 0
    }
}
