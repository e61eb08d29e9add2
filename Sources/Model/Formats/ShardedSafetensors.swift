import Foundation
import Tensor

/// The safetensors files of a model folder (one file or shards) as one archive.
///
/// With `model.safetensors.index.json` present, exactly the files its `weight_map` names are
/// opened and every tensor must be in the file the index says; other `*.safetensors` in the folder
/// (e.g. Mistral's `consolidated.safetensors`) are ignored. Without an index, every
/// `*.safetensors` file except adapters is opened. A tensor name in two files is an error.
public struct ShardedSafetensors: WeightArchive {
    /// The index file's name.
    public static let indexFileName = "model.safetensors.index.json"

    let files: [SafetensorsFile]
    let owner: [String: Int]

    /// Opens the weights of the model folder `folder`.
    public init(folder: URL) throws {
        let indexURL = folder.appendingPathComponent(Self.indexFileName)
        (files, owner) = FileManager.default.fileExists(atPath: indexURL.path)
            ? try Self.openIndexed(folder: folder, index: indexURL) : try Self.openAll(folder: folder)
    }

    /// Opens every `*.safetensors` file except adapters.
    private static func openAll(folder: URL) throws -> ([SafetensorsFile], [String: Int]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let shards = names.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix("adapter_") }.sorted()
        guard !shards.isEmpty else { throw ModelLoadError.missingFile(folder.appendingPathComponent("model.safetensors").path) }
        let files = try shards.map { try SafetensorsFile(contentsOf: folder.appendingPathComponent($0)) }
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for n in f.tensorNames {
                if let j = owner.updateValue(i, forKey: n) {
                    throw WeightLoadError.duplicateTensor(name: n, files: [shards[j], shards[i]])
                }
            }
        }
        return (files, owner)
    }

    /// Opens the shards listed by the index at `indexURL`.
    private static func openIndexed(folder: URL, index indexURL: URL) throws -> ([SafetensorsFile], [String: Int]) {
        struct Index: Decodable { var weight_map: [String: String] }
        let index: Index
        do { index = try JSONDecoder().decode(Index.self, from: FileBytes.read(indexURL)) } catch {
            throw ModelLoadError.malformedFile(path: indexURL.path, reason: "\(error)")
        }
        let shards = Set(index.weight_map.values).sorted()
        guard !shards.isEmpty else { throw ModelLoadError.malformedFile(path: indexURL.path, reason: "empty weight_map") }
        for shard in shards where shard.contains("/") || shard == ".." || !shard.hasSuffix(".safetensors") {
            throw ModelLoadError.malformedFile(path: indexURL.path, reason: "weight_map names '\(shard)', not a .safetensors file in the folder")
        }
        let files = try shards.map { shard -> SafetensorsFile in
            let url = folder.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: url.path) else { throw ModelLoadError.missingFile(url.path) }
            return try SafetensorsFile(contentsOf: url)
        }
        let position = Dictionary(uniqueKeysWithValues: shards.enumerated().map { ($1, $0) })
        let contents = files.map { Set($0.tensorNames) }
        var owner: [String: Int] = [:]
        for (name, shard) in index.weight_map {
            guard let i = position[shard], contents[i].contains(name) else {
                throw ModelLoadError.malformedFile(path: indexURL.path, reason: "tensor '\(name)' is not in \(shard)")
            }
            owner[name] = i
        }
        for (i, f) in files.enumerated() {
            for n in f.tensorNames where owner[n] != i {
                if let j = owner[n] { throw WeightLoadError.duplicateTensor(name: n, files: [shards[j], shards[i]]) }
                throw ModelLoadError.malformedFile(path: indexURL.path, reason: "tensor '\(n)' of \(shards[i]) is missing from weight_map")
            }
        }
        return (files, owner)
    }

    public var tensorNames: [String] { owner.keys.sorted() }

    public func shape(of name: String) throws -> [Int] {
        guard let i = owner[name] else { throw WeightLoadError.missingTensor(name) }
        return try files[i].shape(of: name)
    }

    public func tensor(named name: String) throws -> Tensor {
        guard let i = owner[name] else { throw WeightLoadError.missingTensor(name) }
        return try files[i].tensor(named: name)
    }
}
