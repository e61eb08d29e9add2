import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// Sharded model folders: the index decides which files are read; a tensor in two files is an error.
final class ShardedSafetensorsTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    /// The tiny Llama's tensors by name.
    private func tinyLlamaTensors() throws -> [String: Tensor] {
        let file = try SafetensorsFile(contentsOf: Fixtures.tinyModel("llama").appendingPathComponent("model.safetensors"))
        var out: [String: Tensor] = [:]
        for n in file.tensorNames { out[n] = try file.tensor(named: n) }
        return out
    }

    /// A folder with the tiny Llama's config and its tensors split over two shards.
    private func shardedFolder(index: Bool) throws -> (URL, [String: String]) {
        let folder = scratch.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.tinyModel("llama").appendingPathComponent("config.json"),
                                         to: folder.appendingPathComponent("config.json"))
        let tensors = try tinyLlamaTensors()
        let names = tensors.keys.sorted()
        var map: [String: String] = [:]
        for (i, n) in names.enumerated() { map[n] = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors" }
        for shard in Set(map.values) {
            try SafetensorsWriter.write(tensors.filter { map[$0.key] == shard }, to: folder.appendingPathComponent(shard))
        }
        if index { try writeIndex(map, in: folder) }
        return (folder, map)
    }

    private func writeIndex(_ map: [String: String], in folder: URL) throws {
        let json: [String: Any] = ["metadata": ["total_size": 0], "weight_map": map]
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
    }

    private func logits(_ folder: URL) throws -> [Float] {
        try LanguageModel.loadModel(from: folder).forward(ModelInput(tokens: [3, 14, 15, 92, 65]), cache: nil).scalars
    }

    func testIndexSelectsTheShardsAndIgnoresOtherFiles() throws {
        let (folder, _) = try shardedFolder(index: true)
        // Mistral folders also ship consolidated.safetensors with the same weights under other names.
        try SafetensorsWriter.write(["layers.0.attention.wq.weight": Tensor.full([2, 2], 1)],
                                    to: folder.appendingPathComponent("consolidated.safetensors"))
        let expected = try logits(Fixtures.tinyModel("llama"))
        XCTAssertEqual(try logits(folder), expected)
    }

    func testWithoutIndexEveryFileIsReadAndDuplicatesAreAnError() throws {
        let (folder, map) = try shardedFolder(index: false)
        XCTAssertEqual(try logits(folder), try logits(Fixtures.tinyModel("llama")))
        let name = try XCTUnwrap(map.keys.sorted().first)
        try SafetensorsWriter.write([name: Tensor.full([1], 0)], to: folder.appendingPathComponent("extra.safetensors"))
        XCTAssertThrowsError(try ShardedSafetensors(folder: folder)) { error in
            guard case WeightLoadError.duplicateTensor(name, let files)? = error as? WeightLoadError else { return XCTFail("\(error)") }
            XCTAssertEqual(files.count, 2)
        }
    }

    func testInconsistentIndexesAreTypedErrors() throws {
        let (folder, map) = try shardedFolder(index: true)
        let name = try XCTUnwrap(map.keys.sorted().first)
        let other = map[name] == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors"

        func assertMalformed(_ map: [String: String], _ message: String, line: UInt = #line) throws {
            try writeIndex(map, in: folder)
            XCTAssertThrowsError(try ShardedSafetensors(folder: folder), message, line: line) { error in
                switch error {
                case ModelLoadError.malformedFile, ModelLoadError.missingFile, WeightLoadError.duplicateTensor: break
                default: XCTFail("\(message): \(error)", line: line)
                }
            }
        }
        var wrongShard = map
        wrongShard[name] = other
        try assertMalformed(wrongShard, "a tensor listed under the wrong shard")
        var missingFile = map
        missingFile[name] = "model-00003-of-00003.safetensors"
        try assertMalformed(missingFile, "a shard that does not exist")
        var outside = map
        outside[name] = "../escape.safetensors"
        try assertMalformed(outside, "a shard outside the folder")
        var unlisted = map
        unlisted[name] = nil
        try assertMalformed(unlisted, "a tensor the index does not list")
        try Data("{\"weight_map\": 3}".utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertThrowsError(try ShardedSafetensors(folder: folder)) {
            guard case ModelLoadError.malformedFile = $0 else { return XCTFail("\($0)") }
        }
    }
}
