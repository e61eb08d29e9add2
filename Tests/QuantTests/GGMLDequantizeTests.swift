import Foundation
import XCTest
import Quant

/// Checks every ggml type's dequantizer against values the `gguf` Python package produced from
/// the same bytes (Tools/make_gguf_fixtures.py).
final class GGMLDequantizeTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ggml")

    func load(_ type: GGMLType) throws -> (blocks: Data, expected: [Float]) {
        let blocks = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(type.name).blocks"))
        let raw = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(type.name).f32"))
        let expected = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        return (blocks, expected)
    }

    func decode(_ type: GGMLType, _ blocks: Data, count: Int) throws -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        try blocks.withUnsafeBytes { bytes in
            try out.withUnsafeMutableBufferPointer { try type.dequantize(bytes, count: count, into: $0.baseAddress!) }
        }
        return out
    }

    func assertMatches(_ actual: [Float], _ expected: [Float], _ label: String) {
        XCTAssertEqual(actual.count, expected.count, label)
        var worst: Float = 0
        for (a, e) in zip(actual, expected) {
            if e.isNaN { XCTAssertTrue(a.isNaN, "\(label): expected NaN, got \(a)"); continue }
            if e.isInfinite { XCTAssertEqual(a, e, label); continue }
            worst = max(worst, abs(a - e) / max(1, abs(e)))
        }
        XCTAssertLessThanOrEqual(worst, 1e-6, "\(label): max relative difference \(worst)")
    }

    func testEveryTypeMatchesGGUFPy() throws {
        for type in GGMLType.allCases {
            let (blocks, expected) = try load(type)
            XCTAssertEqual(type.byteCount(forValues: expected.count), blocks.count, "\(type) fixture size")
            assertMatches(try decode(type, blocks, count: expected.count), expected, type.name)
        }
    }

    func testParallelPathMatchesSerialPath() throws {
        // Repeat each fixture until it crosses the parallel threshold; every copy must decode the same.
        for type in GGMLType.allCases {
            let (blocks, expected) = try load(type)
            let copies = (1 << 17) / expected.count + 3
            var big = Data()
            for _ in 0..<copies { big.append(blocks) }
            let out = try decode(type, big, count: copies * expected.count)
            for c in [0, copies / 2, copies - 1] {
                assertMatches(Array(out[(c * expected.count)..<((c + 1) * expected.count)]), expected, "\(type) copy \(c)")
            }
        }
    }

    func testF16IsExactForEveryBitPattern() throws {
        let halves = (0...UInt16.max).map { $0 }
        var out = [Float](repeating: 0, count: halves.count)
        try halves.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { try GGMLType.f16.dequantize(raw, count: halves.count, into: $0.baseAddress!) }
        }
        for (bits, mine) in zip(halves, out) {
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(mine.isNaN, "bits \(bits)")
            } else {
                XCTAssertEqual(mine.bitPattern, reference.bitPattern, "bits \(bits)")
            }
        }
    }

    func testRejectsPartialBlocksAndShortBuffers() throws {
        let bytes = [UInt8](repeating: 0, count: 144)
        var out = [Float](repeating: 0, count: 512)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { buf in
                XCTAssertThrowsError(try GGMLType.q4_K.dequantize(raw, count: 100, into: buf.baseAddress!)) {
                    XCTAssertEqual($0 as? GGMLError, .countNotBlockMultiple(type: .q4_K, count: 100))
                }
                XCTAssertThrowsError(try GGMLType.q4_K.dequantize(raw, count: 512, into: buf.baseAddress!)) {
                    XCTAssertEqual($0 as? GGMLError, .bufferTooSmall(type: .q4_K, needed: 288, available: 144))
                }
                XCTAssertThrowsError(try GGMLType.f32.dequantize(raw, count: -4, into: buf.baseAddress!))
                XCTAssertNoThrow(try GGMLType.q4_K.dequantize(raw, count: 256, into: buf.baseAddress!))
            }
        }
    }

    func testBlockGeometryMatchesGGUFIds() {
        let expected: [(GGMLType, UInt32, Int, Int)] = [
            (.f32, 0, 1, 4), (.f16, 1, 1, 2), (.q4_0, 2, 32, 18), (.q4_1, 3, 32, 20), (.q5_0, 6, 32, 22),
            (.q5_1, 7, 32, 24), (.q8_0, 8, 32, 34), (.q4_K, 12, 256, 144), (.q5_K, 13, 256, 176),
            (.q6_K, 14, 256, 210), (.bf16, 30, 1, 2),
        ]
        for (type, id, block, bytes) in expected {
            XCTAssertEqual(type.rawValue, id)
            XCTAssertEqual(type.blockSize, block)
            XCTAssertEqual(type.bytesPerBlock, bytes)
        }
        XCTAssertNil(GGMLType(rawValue: 10), "Q2_K is not supported")
    }
}
