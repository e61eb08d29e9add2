import XCTest
import Quant

/// LLM.int8 weights against bitsandbytes' `int8_vectorwise_quant` / `int8_vectorwise_dequant`.
final class Int8MatrixTests: XCTestCase {
    func testQuantizeAndDequantizeMatchBitsAndBytes() throws {
        let fixture = try FixtureArchive("bnb_int8.safetensors")
        XCTAssertGreaterThan(fixture.caseCount, 1)
        for c in 0..<fixture.caseCount {
            let meta = try fixture.meta("c\(c)"), p = "c\(c)."
            let rows = meta["rows"] as! Int, cols = meta["cols"] as! Int
            let m = try Int8Matrix(quantizing: try fixture.floats(p + "input"), rows: rows, columns: cols)
            XCTAssertEqual(m.codes, try fixture.int8s(p + "weight"), "case \(c)")
            XCTAssertEqual(bitDifferences(m.rowScales, try fixture.floats(p + "SCB")), [], "case \(c)")
            XCTAssertEqual(bitDifferences(m.dequantized(), try fixture.floats(p + "dequantized")), [], "case \(c)")
        }
    }

    func testWrongCountsThrow() {
        XCTAssertThrowsError(try Int8Matrix(rows: 2, columns: 3, codes: [1, 2, 3, 4, 5], rowScales: [1, 1], name: "q")) {
            XCTAssertEqual($0 as? QuantizationStateError, .wrongCount(tensor: "q", part: "weight", expected: 6, actual: 5))
        }
        XCTAssertThrowsError(try Int8Matrix(rows: 2, columns: 3, codes: [1, 2, 3, 4, 5, 6], rowScales: [1], name: "q")) {
            XCTAssertEqual($0 as? QuantizationStateError, .wrongCount(tensor: "q", part: "SCB", expected: 2, actual: 1))
        }
    }
}
