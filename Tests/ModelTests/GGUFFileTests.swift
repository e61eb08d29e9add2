import Foundation
import XCTest
import Model
import Quant
import Tensor

/// The GGUF container against fixtures written and read back by the `gguf` Python package.
final class GGUFFileTests: XCTestCase {
    func testReadsEveryMetadataValueTypeAsGGUFPyDoes() throws {
        let file = try GGUFFile(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        let reference = try FormatFixtures.json(FormatFixtures.gguf("all_types.json"))
        XCTAssertEqual(file.version, reference["version"] as? Int)
        XCTAssertEqual(file.alignment, reference["alignment"] as? Int)
        XCTAssertEqual(file.dataOffset, reference["data_offset"] as? Int)
        XCTAssertEqual(file.metadataKeys, reference["metadata_keys"] as? [String])
        let metadata = try XCTUnwrap(reference["metadata"] as? [String: [String: Any]])
        XCTAssertEqual(file.metadata.count, metadata.count)
        for (key, entry) in metadata {
            let value = try XCTUnwrap(file[key], key)
            XCTAssertEqual(typeIDs(value), entry["types"] as? [Int], key)
            XCTAssertTrue(matches(flattened(value), entry["value"] as Any), "\(key): \(value) vs \(entry["value"] ?? "nil")")
        }
        // gguf-py flattens nested arrays; the structure is checked against what was written.
        let nested = try XCTUnwrap(reference["nested_as_written"] as? [String: Any])
        XCTAssertEqual(file["test.nested"]?.array?.map { $0.intArray ?? [] }, nested["test.nested"] as? [[Int]])
        XCTAssertEqual(file["test.nested_strings"]?.array?.map { $0.stringArray ?? [] }, nested["test.nested_strings"] as? [[String]])
    }

    func testValueAccessors() throws {
        let file = try GGUFFile(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        XCTAssertEqual(file.architecture, "test")
        XCTAssertEqual(try file.int(forKey: "test.u32"), 4_000_000_000)
        XCTAssertEqual(try file.int(forKey: "test.i8"), -100)
        XCTAssertNil(file["test.u64"]?.int, "18e18 does not fit in Int")
        XCTAssertEqual(try file.double(forKey: "test.f32"), 0.15625)
        XCTAssertEqual(file["test.f64"]?.float, Float(-1.0 / 3.0))
        XCTAssertEqual(file["test.bool_true"]?.bool, true)
        XCTAssertEqual(try file.string(forKey: "test.string"), "héllo, wörld ✓")
        XCTAssertEqual(file["test.strings"]?.stringArray, ["a", "", "ñ", "<|im_end|>"])
        XCTAssertEqual(file["test.f32s"]?.floatArray, [0.5, -1.25, 3.0])
        XCTAssertNil(file["test.strings"]?.intArray)
        assertThrows(GGUFError.missingKey("nope")) { try file.value(forKey: "nope") }
        assertThrows(GGUFError.typeMismatch(key: "test.string", expected: "an integer")) { try file.int(forKey: "test.string") }
    }

    func testTensorInfosAndDequantizedValuesMatchGGUFPy() throws {
        let file = try GGUFFile(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        let reference = try XCTUnwrap(try FormatFixtures.json(FormatFixtures.gguf("all_types.json"))["tensors"] as? [String: [String: Any]])
        let expected = try SafetensorsFile(contentsOf: FormatFixtures.gguf("all_types_expected.safetensors"))
        XCTAssertEqual(Set(file.tensors.map(\.name)), Set(reference.keys))
        XCTAssertEqual(file.tensors.count, GGMLType.allCases.count)
        for info in file.tensors {
            let ref = try XCTUnwrap(reference[info.name])
            XCTAssertEqual(info.type.rawValue, UInt32(ref["type"] as? Int ?? -1), info.name)
            XCTAssertEqual(info.dimensions, ref["dims"] as? [Int], info.name)
            XCTAssertEqual(info.shape, info.dimensions.reversed(), info.name)
            XCTAssertEqual(info.offset, ref["offset"] as? Int, info.name)
            assertClose(try file.float32(named: info.name), try expected.tensor(named: info.name), info.name)
            let raw = try file.withRawBytes(of: info.name) { Array($0) }
            XCTAssertEqual(raw.count, info.byteCount)
        }
    }

    func testVersion2IsReadLikeVersion3() throws {
        var bytes = try Data(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        bytes[4] = 2
        let url = try makeTemporaryDirectory(self).appendingPathComponent("v2.gguf")
        try bytes.write(to: url)
        let v2 = try GGUFFile(contentsOf: url)
        let v3 = try GGUFFile(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(v2.metadata, v3.metadata)
        XCTAssertEqual(v2.tensors, v3.tensors)
        XCTAssertEqual(try v2.float32(named: "t.Q6_K").scalars, try v3.float32(named: "t.Q6_K").scalars)
    }

    func testEveryTruncationIsATypedError() throws {
        let bytes = try Data(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        let file = try GGUFFile(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        let directory = try makeTemporaryDirectory(self)
        let url = directory.appendingPathComponent("cut.gguf")
        let lastTensorEnd = file.tensors.map { file.dataOffset + $0.offset + $0.byteCount }.max() ?? 0
        for length in Array(0..<file.dataOffset) + [file.dataOffset, file.dataOffset + 100, lastTensorEnd - 1] {
            try bytes.prefix(length).write(to: url)
            assertThrows(GGUFError.self, where: { error in
                switch error {
                case .truncated: return length < file.dataOffset
                case .tensorOutOfRange: return length >= file.dataOffset
                default: return false
                }
            }) { try GGUFFile(contentsOf: url) }
        }
        try bytes.prefix(lastTensorEnd).write(to: url)
        XCTAssertNoThrow(try GGUFFile(contentsOf: url))
    }

    func testRejectsBadMagicAndVersions() throws {
        let directory = try makeTemporaryDirectory(self)
        var builder = GGUFBuilder()
        builder.magic = Array("GGML".utf8)
        assertThrows(GGUFError.badMagic(found: Array("GGML".utf8))) { try GGUFFile(contentsOf: builder.write(to: directory)) }
        for version: UInt32 in [1, 4, 0x0300_0000] {
            builder = GGUFBuilder()
            builder.version = version
            assertThrows(GGUFError.unsupportedVersion(version)) { try GGUFFile(contentsOf: builder.write(to: directory)) }
        }
        builder = GGUFBuilder()
        XCTAssertNoThrow(try GGUFFile(contentsOf: builder.write(to: directory)), "an empty GGUF is valid")
    }

    func testRejectsHugeLengthsWithoutAllocating() throws {
        let directory = try makeTemporaryDirectory(self)
        let huge: UInt64 = 1 << 40
        func open(_ builder: GGUFBuilder) throws -> GGUFFile { try GGUFFile(contentsOf: builder.write(to: directory)) }
        var b = GGUFBuilder()
        b.metadata = [GGUFBuilder.u64(huge) + Data(count: 64)]
        assertThrows(GGUFError.self, where: { if case .lengthTooLarge("string length", huge, _) = $0 { true } else { false } }) { try open(b) }
        b = GGUFBuilder()
        b.add("k", type: 8, GGUFBuilder.u64(huge))
        assertThrows(GGUFError.self, where: { if case .lengthTooLarge("string length", huge, _) = $0 { true } else { false } }) { try open(b) }
        b = GGUFBuilder()
        b.add("k", type: 9, GGUFBuilder.u32(0) + GGUFBuilder.u64(huge))
        assertThrows(GGUFError.self, where: { if case .lengthTooLarge("array length", huge, _) = $0 { true } else { false } }) { try open(b) }
        b = GGUFBuilder()
        b.add("k", type: 9, GGUFBuilder.u32(8) + GGUFBuilder.u64(1000))  // 1000 strings announced, none present
        assertThrows(GGUFError.self, where: { if case .truncated = $0 { true } else { false } }) { try open(b) }
        b = GGUFBuilder()
        b.tensorCount = huge
        assertThrows(GGUFError.self, where: { if case .lengthTooLarge("tensor count", huge, _) = $0 { true } else { false } }) { try open(b) }
        b = GGUFBuilder()
        b.metadataCount = 1000
        assertThrows(GGUFError.self, where: { if case .truncated = $0 { true } else { false } }) { try open(b) }
        b = GGUFBuilder()
        var nested = GGUFBuilder.u32(9) + GGUFBuilder.u64(1)
        for _ in 0..<20 { nested += GGUFBuilder.u32(9) + GGUFBuilder.u64(1) }
        b.add("deep", type: 9, nested + GGUFBuilder.u32(0) + GGUFBuilder.u64(0))
        assertThrows(GGUFError.self, where: { if case .lengthTooLarge("array nesting depth", _, _) = $0 { true } else { false } }) { try open(b) }
    }

    func testRejectsMalformedMetadata() throws {
        let directory = try makeTemporaryDirectory(self)
        func open(_ builder: GGUFBuilder) throws -> GGUFFile { try GGUFFile(contentsOf: builder.write(to: directory)) }
        var b = GGUFBuilder()
        b.add("odd", type: 13, Data())
        assertThrows(GGUFError.unknownValueType(key: "odd", typeID: 13)) { try open(b) }
        b = GGUFBuilder()
        b.add("odd", type: 9, GGUFBuilder.u32(77) + GGUFBuilder.u64(0))
        assertThrows(GGUFError.unknownValueType(key: "odd", typeID: 77)) { try open(b) }
        b = GGUFBuilder()
        b.addU32("twice", 1)
        b.addU32("twice", 2)
        assertThrows(GGUFError.duplicateKey("twice")) { try open(b) }
        for bad: UInt32 in [0, 3, 48] {
            b = GGUFBuilder()
            b.addU32("general.alignment", bad)
            assertThrows(GGUFError.self, where: { if case .invalidAlignment = $0 { true } else { false } }) { try open(b) }
        }
        b = GGUFBuilder()
        b.addString("general.alignment", "32")
        assertThrows(GGUFError.self, where: { if case .invalidAlignment = $0 { true } else { false } }) { try open(b) }
    }

    func testRejectsBadTensorDescriptions() throws {
        let directory = try makeTemporaryDirectory(self)
        func open(_ builder: GGUFBuilder) throws -> GGUFFile { try GGUFFile(contentsOf: builder.write(to: directory)) }
        func withTensor(dims: [UInt64], type: UInt32, offset: UInt64, dataSize: Int = 1024) -> GGUFBuilder {
            var b = GGUFBuilder()
            b.addTensor("w", dims: dims, type: type, offset: offset)
            b.data = Data(count: dataSize)
            return b
        }
        XCTAssertNoThrow(try open(withTensor(dims: [256], type: 0, offset: 0)))
        XCTAssertNoThrow(try open(withTensor(dims: [256, 1], type: 12, offset: 864, dataSize: 1008)), "ends exactly at the end")
        assertThrows(GGUFError.tensorOutOfRange(tensor: "w", offset: 1024, length: 1024, available: 1024)) {
            try open(withTensor(dims: [256], type: 0, offset: 1024))
        }
        assertThrows(GGUFError.tensorOutOfRange(tensor: "w", offset: 16, length: 1024, available: 1024)) {
            try open(withTensor(dims: [256], type: 0, offset: 16))
        }
        assertThrows(GGUFError.tensorOutOfRange(tensor: "w", offset: UInt64.max - 7, length: 1024, available: 0)) {
            try open(withTensor(dims: [256], type: 0, offset: UInt64.max - 7))
        }
        assertThrows(GGUFError.unknownTensorType(tensor: "w", typeID: 10)) { try open(withTensor(dims: [256], type: 10, offset: 0)) }
        assertThrows(GGUFError.unknownTensorType(tensor: "w", typeID: 999)) { try open(withTensor(dims: [256], type: 999, offset: 0)) }
        for dims: [UInt64] in [[], [1, 1, 1, 1, 1], [100], [1 << 40, 1 << 40]] {
            assertThrows(GGUFError.self, where: { if case .invalidTensorInfo(tensor: "w", _) = $0 { true } else { false } }) {
                try open(withTensor(dims: dims, type: 12, offset: 0))
            }
        }
        var b = withTensor(dims: [8], type: 0, offset: 0)
        b.addTensor("w", dims: [8], type: 0, offset: 32)
        assertThrows(GGUFError.duplicateTensor("w")) { try open(b) }

        let file = try open(withTensor(dims: [256], type: 0, offset: 0))
        assertThrows(GGUFError.missingTensor("nope")) { try file.float32(named: "nope") }
        assertThrows(GGUFError.missingTensor("nope")) { try file.tensorInfo(named: "nope") }
        assertThrows(GGUFError.missingTensor("nope")) { try file.withRawBytes(of: "nope") { $0.count } }
    }

    func testReportsFilesThatCannotBeOpened() throws {
        let directory = try makeTemporaryDirectory(self)
        let missing = directory.appendingPathComponent("absent.gguf")
        assertThrows(GGUFError.self, where: { if case .cannotOpen(missing.path, _) = $0 { true } else { false } }) {
            try GGUFFile(contentsOf: missing)
        }
        assertThrows(GGUFError.self, where: { if case .cannotOpen = $0 { true } else { false } }) { try GGUFFile(contentsOf: directory) }
        let empty = directory.appendingPathComponent("empty.gguf")
        try Data().write(to: empty)
        assertThrows(GGUFError.truncated(offset: 0, needed: 4)) { try GGUFFile(contentsOf: empty) }
        XCTAssertFalse("\(GGUFError.truncated(offset: 0, needed: 4))".isEmpty)
    }

    // MARK: - Helpers

    /// The type ids gguf-py reports for a field: [9, element type, ...] for arrays.
    private func typeIDs(_ value: GGUFValue) -> [Int] {
        switch value {
        case .uint8: return [0]
        case .int8: return [1]
        case .uint16: return [2]
        case .int16: return [3]
        case .uint32: return [4]
        case .int32: return [5]
        case .float32: return [6]
        case .bool: return [7]
        case .string: return [8]
        case .uint64: return [10]
        case .int64: return [11]
        case .float64: return [12]
        case .array(let items): return [9] + (items.first.map(typeIDs) ?? [])
        }
    }

    /// A value with nested arrays flattened, as gguf-py's `contents()` returns it.
    private func flattened(_ value: GGUFValue) -> Any {
        guard case .array(let items) = value else { return value }
        return items.flatMap { item -> [Any] in
            if case .array = item, let inner = flattened(item) as? [Any] { return inner }
            return [item]
        }
    }

    private func matches(_ value: Any, _ reference: Any) -> Bool {
        if let list = value as? [Any] {
            guard let refs = reference as? [Any], refs.count == list.count else { return false }
            return zip(list, refs).allSatisfy { matches($0, $1) }
        }
        guard let v = value as? GGUFValue else { return false }
        switch v {
        case .string(let s): return s == reference as? String
        case .bool(let b): return b == reference as? Bool
        case .uint64(let u): return (reference as? NSNumber)?.uint64Value == u
        case .int64(let i): return (reference as? NSNumber)?.int64Value == i
        case .float32(let f): return (reference as? NSNumber).map { Float($0.doubleValue) == f } ?? false
        case .float64(let d): return (reference as? NSNumber)?.doubleValue == d
        default: return v.int != nil && (reference as? NSNumber)?.int64Value == Int64(v.int!)
        }
    }
}
