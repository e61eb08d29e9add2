import Foundation
import Quant
import XCTest

/// Tailor's ggml encoders against the `gguf` Python package's reference quantizers
/// (Fixtures/ggml/encode.json, made by Tools/make_gguf_export_fixtures.py): the same bytes.
final class GGMLQuantizeTests: XCTestCase {
    private struct Fixture: Decodable {
        let values: [Float]
        let F16, BF16, Q8_0, Q4_0, Q5_0: String
    }

    private func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ggml/encode.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private func encode(_ values: [Float], as type: GGMLType) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: try XCTUnwrap(type.byteCount(forValues: values.count)))
        try values.withUnsafeBufferPointer { v in try out.withUnsafeMutableBytes { try type.quantize(v, into: $0) } }
        return out
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testEncodingsMatchGGUFPy() throws {
        let f = try fixture()
        for (type, expected) in [(GGMLType.f16, f.F16), (.bf16, f.BF16), (.q8_0, f.Q8_0), (.q4_0, f.Q4_0), (.q5_0, f.Q5_0)] {
            XCTAssertEqual(hex(try encode(f.values, as: type)), expected, "\(type)")
        }
    }

    func testEncodeThenDecodeIsCloseAndF32IsExact() throws {
        let values = try fixture().values
        for (type, bound) in [(GGMLType.f32, Float(0)), (.f16, 1e-3), (.q8_0, 1e-2), (.q5_0, 0.07), (.q4_0, 0.13)] {
            let bytes = try encode(values, as: type)
            var back = [Float](repeating: .nan, count: values.count)
            try bytes.withUnsafeBytes { b in try back.withUnsafeMutableBufferPointer { try type.dequantize(b, count: values.count, into: $0.baseAddress!) } }
            for block in 0..<(values.count / 32) {
                let range = (32 * block)..<(32 * block + 32)
                let scale = range.map { abs(values[$0]) }.max() ?? 0
                let worst = range.map { abs(back[$0] - values[$0]) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, bound * max(scale, 1e-30), "\(type) block \(block)")
            }
        }
    }

    func testBadRequestsThrow() throws {
        let values = [Float](repeating: 1, count: 40)
        var out = [UInt8](repeating: 0, count: 1000)
        try values.withUnsafeBufferPointer { v in
            try out.withUnsafeMutableBytes { o in
                XCTAssertThrowsError(try GGMLType.q8_0.quantize(v, into: o)) {
                    XCTAssertEqual($0 as? GGMLError, .countNotBlockMultiple(type: .q8_0, count: 40))
                }
                XCTAssertThrowsError(try GGMLType.f32.quantize(v, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<10]))) {
                    XCTAssertEqual($0 as? GGMLError, .bufferTooSmall(type: .f32, needed: 160, available: 10))
                }
            }
        }
    }
}
