import Foundation
import XCTest
import Model
import Tensor

/// safetensors reading against files written by the Python `safetensors` package, writing via
/// round trips and torch's narrowing, and rejection of malformed headers.
final class SafetensorsTests: XCTestCase {
    func testReadsFileWrittenByPythonSafetensors() throws {
        let file = try SafetensorsFile(contentsOf: FormatFixtures.safetensors("mixed.safetensors"))
        let reference = try FormatFixtures.json(FormatFixtures.safetensors("mixed.json"))
        XCTAssertEqual(file.metadata, reference["metadata"] as? [String: String])
        let tensors = try XCTUnwrap(reference["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(Set(file.tensorNames), Set(tensors.keys))
        let dtypes = ["float32": SafetensorsDType.f32, "float16": .f16, "bfloat16": .bf16, "int64": .i64]
        for (name, entry) in tensors {
            let info = try file.info(named: name)
            XCTAssertEqual(info.dtype, dtypes[entry["dtype"] as? String ?? ""], name)
            XCTAssertEqual(info.shape, entry["shape"] as? [Int], name)
            XCTAssertEqual(try file.shape(of: name), info.shape)
            let values = try XCTUnwrap(entry["values"] as? [Any], name)
            if info.dtype == .i64 {
                let stored = try file.withRawBytes(of: name) { raw in
                    (0..<(raw.count / 8)).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
                }
                XCTAssertEqual(stored, values as? [Int])
                assertThrows(SafetensorsError.unsupportedDType(tensor: name, dtype: .i64)) { try file.tensor(named: name) }
                continue
            }
            let expected = values.map { v -> Float in
                switch v {
                case let s as String: return s == "inf" ? .infinity : -.infinity
                case let n as NSNumber: return Float(n.doubleValue)
                default: return .nan
                }
            }
            let tensor = try file.tensor(named: name)
            XCTAssertEqual(tensor.shape, info.shape, name)
            assertClose(tensor.scalars, expected, tolerance: 0, name)
        }
        assertThrows(SafetensorsError.missingTensor("absent")) { try file.tensor(named: "absent") }
    }

    func testRoundTripInEveryWritableDType() throws {
        let directory = try makeTemporaryDirectory(self)
        var rng = SeededRandom(seed: 11)
        let tensors: [String: Tensor] = [
            "a.weight": try Tensor(shape: [3, 4], values: (0..<12).map { _ in Float.random(in: -4...4, using: &rng) }),
            "a.bias": try Tensor(shape: [4], values: [1, -2, 0.5, 1e-3]),
            "scalar": Tensor(7),
            "empty": Tensor.zeros([0, 2]),
        ]
        let metadata = ["format": "pt", "unicode": "✓ é"]
        for dtype in [SafetensorsDType.f32, .f16, .bf16] {
            let url = directory.appendingPathComponent("\(dtype.rawValue).safetensors")
            try SafetensorsWriter.write(tensors, to: url, dtype: dtype, metadata: metadata)
            let file = try SafetensorsFile(contentsOf: url)
            XCTAssertEqual(file.metadata, metadata)
            XCTAssertEqual(file.tensorNames, tensors.keys.sorted())
            for (name, tensor) in tensors {
                XCTAssertEqual(try file.info(named: name).dtype, dtype)
                let back = try file.tensor(named: name)
                XCTAssertEqual(back.shape, tensor.shape, name)
                // Exact for F32; within half a unit in the last place for the narrow types
                // (their exact rounding is checked against torch in testNarrowingMatchesTorch).
                let tolerance: Float = dtype == .f32 ? 0 : dtype == .f16 ? 1.0 / 2048 : 1.0 / 256
                for (b, x) in zip(back.scalars, tensor.scalars) {
                    XCTAssertLessThanOrEqual(abs(b - x), tolerance * abs(x), "\(dtype) \(name)")
                }
            }
        }
    }

    func testNarrowingMatchesTorch() throws {
        let reference = try FormatFixtures.json(FormatFixtures.safetensors("narrowing.json"))
        let inputs = try XCTUnwrap(reference["inputs"] as? [Int]).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        let directory = try makeTemporaryDirectory(self)
        for (dtype, key) in [(SafetensorsDType.f16, "f16"), (.bf16, "bf16")] {
            let expected = try XCTUnwrap(reference[key] as? [Int]).map { UInt16(truncatingIfNeeded: $0) }
            let url = directory.appendingPathComponent("\(key).safetensors")
            try SafetensorsWriter.write(["x": try Tensor(shape: [inputs.count], values: inputs)], to: url, dtype: dtype)
            let stored = try SafetensorsFile(contentsOf: url).withRawBytes(of: "x") { raw in
                (0..<(raw.count / 2)).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
            }
            XCTAssertEqual(stored.count, expected.count)
            // Any NaN encoding is accepted (torch's vectorised bf16 path writes 0xFFFF, its scalar path 0x7FC0).
            let exponentMask: UInt16 = dtype == .f16 ? 0x7C00 : 0x7F80
            func isNaN(_ bits: UInt16) -> Bool {
                let mantissa = bits & ~(exponentMask | 0x8000)
                return bits & exponentMask == exponentMask && mantissa != 0
            }
            for (i, (s, e)) in zip(stored, expected).enumerated() {
                if isNaN(e) { XCTAssertTrue(isNaN(s), "\(key)[\(i)]: \(s) is not NaN") } else { XCTAssertEqual(s, e, "\(key)[\(i)] input \(inputs[i])") }
            }
        }
    }

    func testWritesAtomically() throws {
        let directory = try makeTemporaryDirectory(self)
        let url = directory.appendingPathComponent("model.safetensors")
        try SafetensorsWriter.write(["x": Tensor.ones([2])], to: url)
        try SafetensorsWriter.write(["y": Tensor.zeros([3])], to: url)
        XCTAssertEqual(try SafetensorsFile(contentsOf: url).tensorNames, ["y"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])

        let nowhere = directory.appendingPathComponent("missing/model.safetensors")
        assertThrows(SafetensorsError.self, where: { if case .cannotWrite = $0 { true } else { false } }) {
            try SafetensorsWriter.write(["x": Tensor.ones([2])], to: nowhere)
        }
        assertThrows(SafetensorsError.self, where: { if case .invalidInput = $0 { true } else { false } }) {
            try SafetensorsWriter.write(["__metadata__": Tensor.ones([2])], to: url)
        }
        assertThrows(SafetensorsError.self, where: { if case .invalidInput = $0 { true } else { false } }) {
            try SafetensorsWriter.write(["x": Tensor.ones([2])], to: url, dtype: .i32)
        }
        XCTAssertEqual(try SafetensorsFile(contentsOf: url).tensorNames, ["y"], "failed writes leave the file alone")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
    }

    func testRejectsMalformedFiles() throws {
        let directory = try makeTemporaryDirectory(self)
        func open(header: String, data: Int = 16, length: UInt64? = nil) throws -> SafetensorsFile {
            try open(headerBytes: Data(header.utf8), data: data, length: length)
        }
        func open(headerBytes: Data, data: Int = 16, length: UInt64? = nil) throws -> SafetensorsFile {
            var bytes = withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { Data($0) }
            bytes += headerBytes + Data(count: data)
            let url = directory.appendingPathComponent("bad.safetensors")
            try bytes.write(to: url)
            return try SafetensorsFile(contentsOf: url)
        }
        let good = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        XCTAssertEqual(try open(header: good).tensorNames, ["a"])

        let url = directory.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        assertThrows(SafetensorsError.truncated(needed: 8, available: 3)) { try SafetensorsFile(contentsOf: url) }
        assertThrows(SafetensorsError.headerTooLarge(length: 1 << 40, limit: 100 << 20)) { try open(header: good, length: 1 << 40) }
        assertThrows(SafetensorsError.truncated(needed: 8 + 10_000, available: 8 + good.utf8.count + 16)) {
            try open(header: good, length: 10_000)
        }

        func isHeaderError(_ e: SafetensorsError) -> Bool { if case .invalidHeader = e { true } else { false } }
        for header in [
            #"{"a":"#, "[1,2]", "null",
            #"{"a":{"shape":[2,2],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[2.5,2],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,-16]}}"#,
            #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"k":1}}"#,
        ] {
            assertThrows(SafetensorsError.self, where: isHeaderError) { try open(header: header) }
        }
        assertThrows(SafetensorsError.self, where: isHeaderError) { try open(headerBytes: Data([0x7B, 0xFF, 0xFE, 0x7D])) }

        assertThrows(SafetensorsError.unknownDType(tensor: "a", dtype: "F31")) {
            try open(header: #"{"a":{"dtype":"F31","shape":[2,2],"data_offsets":[0,16]}}"#)
        }
        func isTensorError(_ e: SafetensorsError) -> Bool { if case .invalidTensor(tensor: "a", _) = e { true } else { false } }
        for header in [
            #"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}"#,
            #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}}"#,
            #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16,32]}}"#,
            #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#,
        ] {
            assertThrows(SafetensorsError.self, where: isTensorError) { try open(header: header) }
        }
        func isLayoutError(_ e: SafetensorsError) -> Bool { if case .invalidLayout = e { true } else { false } }
        for (header, data) in [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#, 16),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 16),
        ] {
            assertThrows(SafetensorsError.self, where: isLayoutError) { try open(header: header, data: data) }
        }
    }
}
