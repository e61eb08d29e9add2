import XCTest
@testable import Quant

/// NF4/FP4 with double quantization against bitsandbytes 0.50.2 (Tools/make_nf4_fixtures.py):
/// same bytes, same scales, same dequantized values.
final class FourBitMatrixTests: XCTestCase {
    func testDynamicMapMatchesBitsAndBytes() throws {
        let fixture = try FixtureArchive("bnb_4bit.safetensors")
        XCTAssertEqual(bitDifferences(DynamicQuantizationMap.signed, try fixture.floats("dynamic_map")), [])
    }

    func testQuantizeMatchesBitsAndBytesByteForByte() throws {
        let fixture = try FixtureArchive("bnb_4bit.safetensors")
        XCTAssertGreaterThan(fixture.caseCount, 5)
        for c in 0..<fixture.caseCount {
            let meta = try fixture.meta("c\(c)"), p = "c\(c)."
            let rows = meta["rows"] as! Int, cols = meta["cols"] as! Int, bs = meta["blocksize"] as! Int
            let type = try XCTUnwrap(FourBitType(rawValue: meta["quant_type"] as! String))
            let label = "case \(c): \(rows)x\(cols) \(type) blocksize \(bs)"
            let input = try fixture.floats(p + "input")
            let m = try FourBitMatrix(quantizing: input, rows: rows, columns: cols, type: type, blockSize: bs)
            XCTAssertEqual(m.packed, try fixture.bytes(p + "packed"), label)
            XCTAssertEqual(type.codeValues, try fixture.floats(p + "quant_map"), label)
            guard case .nested(let nested) = m.scales else { return XCTFail(label) }
            XCTAssertEqual(nested.offset.bitPattern, try fixture.floats(p + "offset")[0].bitPattern, "\(label): offset")
            XCTAssertEqual(nested.codes, try fixture.bytes(p + "nested_codes"), "\(label): nested codes")
            XCTAssertEqual(bitDifferences(nested.absmax, try fixture.floats(p + "nested_absmax")), [], "\(label): nested absmax")
            XCTAssertEqual(bitDifferences(nested.map, try fixture.floats(p + "nested_quant_map")), [], "\(label): nested map")
            XCTAssertEqual(nested.blockSize, meta["nested_blocksize"] as? Int)
            XCTAssertEqual(bitDifferences(m.dequantized(), try fixture.floats(p + "dequantized")), [], "\(label): dequantized")

            let plain = try FourBitMatrix(quantizing: input, rows: rows, columns: cols, type: type, blockSize: bs, doubleQuantize: false)
            XCTAssertEqual(plain.scales, .plain(try fixture.floats(p + "absmax")), label)
            XCTAssertEqual(plain.packed, m.packed, label)
        }
    }

    func testStoredPartsDequantizeAsBitsAndBytes() throws {
        let fixture = try FixtureArchive("bnb_4bit.safetensors")
        for c in 0..<fixture.caseCount {
            let meta = try fixture.meta("c\(c)"), p = "c\(c)."
            let rows = meta["rows"] as! Int, cols = meta["cols"] as! Int
            let nested = FourBitMatrix.NestedScales(
                codes: try fixture.bytes(p + "nested_codes"), absmax: try fixture.floats(p + "nested_absmax"),
                map: try fixture.floats(p + "nested_quant_map"), blockSize: 256, offset: try fixture.floats(p + "offset")[0])
            let m = try FourBitMatrix(type: FourBitType(rawValue: meta["quant_type"] as! String)!, rows: rows, columns: cols,
                                      blockSize: meta["blocksize"] as! Int, packed: try fixture.bytes(p + "packed"), scales: .nested(nested))
            XCTAssertEqual(bitDifferences(m.dequantized(), try fixture.floats(p + "dequantized")), [], "case \(c)")
            // Row ranges decode the same values as the whole matrix.
            var tail = [Float](repeating: 0, count: cols * (rows - rows / 2))
            m.dequantize(rows: (rows / 2)..<rows, into: &tail)
            XCTAssertEqual(tail, Array(m.dequantized()[(rows / 2 * cols)...]), "case \(c)")
        }
    }

    func testInconsistentStateThrowsNamingTheTensor() throws {
        let packed = [UInt8](repeating: 0x17, count: 32)  // 4 x 16 = 64 elements
        XCTAssertThrowsError(try FourBitMatrix(type: .nf4, rows: 4, columns: 16, blockSize: 64, packed: packed, scales: .plain([1, 2]), name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .wrongCount(tensor: "w", part: "absmax", expected: 1, actual: 2))
        }
        XCTAssertThrowsError(try FourBitMatrix(type: .nf4, rows: 4, columns: 16, blockSize: 64, packed: Array(packed.dropLast()), scales: .plain([1]), name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .wrongCount(tensor: "w", part: "packed weight", expected: 32, actual: 31))
        }
        XCTAssertThrowsError(try FourBitMatrix(type: .nf4, rows: 4, columns: 16, blockSize: 48, packed: packed, scales: .plain([1]), name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .invalidBlockSize(tensor: "w", blockSize: 48))
        }
        let badMap = FourBitMatrix.NestedScales(codes: [0], absmax: [1], map: [0, 1], blockSize: 256, offset: 0)
        XCTAssertThrowsError(try FourBitMatrix(type: .nf4, rows: 4, columns: 16, blockSize: 64, packed: packed, scales: .nested(badMap), name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .wrongCount(tensor: "w", part: "nested_quant_map", expected: 256, actual: 2))
        }
        let badNested = FourBitMatrix.NestedScales(codes: [0], absmax: [1, 2], map: DynamicQuantizationMap.signed, blockSize: 256, offset: 0)
        XCTAssertThrowsError(try FourBitMatrix(type: .nf4, rows: 4, columns: 16, blockSize: 64, packed: packed, scales: .nested(badNested), name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .wrongCount(tensor: "w", part: "nested_absmax", expected: 1, actual: 2))
        }
        let hugeBlocks = FourBitMatrix.NestedScales(codes: [0], absmax: [1], map: DynamicQuantizationMap.signed, blockSize: .max, offset: 0)
        XCTAssertThrowsError(try FourBitMatrix(type: .nf4, rows: 4, columns: 16, blockSize: 64, packed: packed, scales: .nested(hugeBlocks), name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .invalidState(tensor: "w", reason: "nested blocksize \(Int.max)"))
        }
        XCTAssertThrowsError(try FourBitMatrix(quantizing: [1, 2, 3], rows: 2, columns: 2, name: "w")) {
            XCTAssertEqual($0 as? QuantizationStateError, .invalidShape(tensor: "w", shape: [2, 2]))
        }
    }

    func testTorchMeanOrderOnLongVectors() throws {
        // The mean bitsandbytes subtracts is torch's Float32 mean; a long vector exercises the
        // vector lanes, the four accumulators and the levels. The value is checked by the
        // fixtures; here only that sums of exactly representable values are exact.
        let ones = [Float](repeating: 0.5, count: 100_003)
        XCTAssertEqual(ones.withUnsafeBufferPointer { TorchFloatSum.sum($0) }, 50_001.5)
    }
}
