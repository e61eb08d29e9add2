import Foundation
import Quant
import XCTest

/// Tailor's Q4_1, Q5_1, Q4_K, Q5_K and Q6_K encoders against ggml's own reference quantizers
/// (`quantize_row_*_ref`, what llama-quantize runs without an importance matrix): the fixture
/// Fixtures/ggml/encode-k was made by Tools/make_kquant_fixtures.py, which runs ggml's C code.
final class KQuantEncoderTests: XCTestCase {
    private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ggml/encode-k")
    private let types: [GGMLType] = [.q4_1, .q5_1, .q4_K, .q5_K, .q6_K]

    private func values() throws -> [Float] {
        let data = try Data(contentsOf: folder.appendingPathComponent("values.f32"))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
    }

    private func encode(_ values: [Float], as type: GGMLType) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: try XCTUnwrap(type.byteCount(forValues: values.count)))
        try values.withUnsafeBufferPointer { v in try out.withUnsafeMutableBytes { try type.quantize(v, into: $0) } }
        return out
    }

    private func decode(_ bytes: [UInt8], as type: GGMLType, count: Int) throws -> [Float] {
        var back = [Float](repeating: .nan, count: count)
        try bytes.withUnsafeBytes { b in try back.withUnsafeMutableBufferPointer { try type.dequantize(b, count: count, into: $0.baseAddress!) } }
        return back
    }

    func testEncodingsMatchGGMLReferenceQuantizers() throws {
        let values = try values()
        XCTAssertEqual(values.count, 2560)
        for type in types {
            let expected = try [UInt8](Data(contentsOf: folder.appendingPathComponent("\(type.name).bin")))
            let got = try encode(values, as: type)
            XCTAssertEqual(got.count, expected.count, "\(type.name)")
            let blockBytes = try XCTUnwrap(type.byteCount(forValues: type.blockSize))
            for b in 0..<(expected.count / blockBytes) {
                let range = (b * blockBytes)..<((b + 1) * blockBytes)
                XCTAssertEqual(Array(got[range]), Array(expected[range]), "\(type.name) block \(b)")
            }
        }
    }

    /// Decoding what was encoded stays within the format's resolution: per block, the worst error is
    /// at most `bound` × the block's largest magnitude (half a code step plus the scales' own rounding),
    /// and more bits give a smaller mean squared error. Values near fp16's smallest step (the
    /// fixture's block of ~1e-7 values) lose their scales to underflow, hence the 1e-6 floor.
    func testEncodeThenDecodeIsWithinTheFormatsError() throws {
        let values = try values()
        var meanSquared: [GGMLType: Double] = [:]
        for (type, bound) in [(GGMLType.q4_1, Float(0.07)), (.q5_1, 0.035), (.q4_K, 0.1), (.q5_K, 0.05), (.q6_K, 0.025)] {
            let back = try decode(try encode(values, as: type), as: type, count: values.count)
            for block in 0..<(values.count / type.blockSize) {
                let range = (type.blockSize * block)..<(type.blockSize * (block + 1))
                let scale = range.map { abs(values[$0]) }.max() ?? 0
                let worst = range.map { abs(back[$0] - values[$0]) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, bound * scale + 1e-6, "\(type.name) block \(block)")
            }
            let normal = 0..<256  // the fixture's first block: standard normal values
            meanSquared[type] = normal.map { Double(back[$0] - values[$0]) * Double(back[$0] - values[$0]) }.reduce(0, +) / 256
        }
        XCTAssertEqual(try decode(try encode([Float](repeating: 0, count: 256), as: .q6_K), as: .q6_K, count: 256), [Float](repeating: 0, count: 256))
        let q4 = try XCTUnwrap(meanSquared[.q4_K]), q5 = try XCTUnwrap(meanSquared[.q5_K]), q6 = try XCTUnwrap(meanSquared[.q6_K])
        XCTAssertGreaterThan(q4, 2 * q5)
        XCTAssertGreaterThan(q5, 2 * q6)
        XCTAssertGreaterThan(q6, 0)
    }

    /// NaN and infinite weights give some bytes, never a trap; the finite blocks next to them are unaffected.
    func testNonFiniteValuesDoNotTrap() throws {
        let clean = try Array(values()[0..<512])
        var dirty = clean
        dirty[3] = .nan
        dirty[200] = .infinity
        dirty[201] = -.infinity
        for type in types {
            let a = try encode(clean, as: type), b = try encode(dirty, as: type)
            let half = a.count / 2
            XCTAssertEqual(Array(a[half...]), Array(b[half...]), "\(type.name)")
        }
    }

    func testEveryTypeIsEncodableAndBadCountsThrow() throws {
        XCTAssertTrue(GGMLType.allCases.allSatisfy(\.isEncodable))
        let values = [Float](repeating: 1, count: 288)
        var out = [UInt8](repeating: 0, count: 1000)
        try values.withUnsafeBufferPointer { v in
            try out.withUnsafeMutableBytes { o in
                XCTAssertThrowsError(try GGMLType.q4_K.quantize(v, into: o)) {
                    XCTAssertEqual($0 as? GGMLError, .countNotBlockMultiple(type: .q4_K, count: 288))
                }
                let block = UnsafeBufferPointer(rebasing: v[0..<256])
                XCTAssertThrowsError(try GGMLType.q6_K.quantize(block, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<209]))) {
                    XCTAssertEqual($0 as? GGMLError, .bufferTooSmall(type: .q6_K, needed: 210, available: 209))
                }
            }
        }
    }
}
