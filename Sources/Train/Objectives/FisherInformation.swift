import Foundation
import Model
import Tensor

/// The diagonal Fisher information of a model's trainable parameters with the values they had when
/// it was estimated (the anchor θ*): what elastic weight consolidation (``EWCObjective``) needs.
///
/// Stored as safetensors: `fisher.<path>` and `anchor.<path>` for every parameter path.
public struct FisherInformation: Sendable {
    /// Mean squared gradient per parameter path.
    public var fisher: [String: Tensor]
    /// Parameter values at estimation time, by path.
    public var anchor: [String: Tensor]

    /// Fisher and anchor tensors; throws ``ObjectiveError/parameterMismatch(tensor:reason:)`` when
    /// their paths or shapes differ.
    public init(fisher: [String: Tensor], anchor: [String: Tensor]) throws {
        for (path, f) in fisher {
            guard let a = anchor[path] else { throw ObjectiveError.parameterMismatch(tensor: "anchor.\(path)", reason: "missing") }
            guard a.shape == f.shape else {
                throw ObjectiveError.parameterMismatch(tensor: "anchor.\(path)", reason: "shape \(a.shape), fisher has \(f.shape)")
            }
        }
        if let extra = anchor.keys.sorted().first(where: { fisher[$0] == nil }) {
            throw ObjectiveError.parameterMismatch(tensor: "fisher.\(extra)", reason: "missing")
        }
        self.fisher = fisher
        self.anchor = anchor
    }

    /// Estimates the diagonal Fisher of `model`'s trainable parameters as the mean over `batches`
    /// of the squared gradient of each batch's mean next-token cross-entropy (the empirical
    /// Fisher), and takes the current values as the anchor.
    public static func estimate(model: any CausalLanguageModel, batches: [TrainingBatch]) throws -> FisherInformation {
        let parameters = Train.trainableParameters(of: model)
        guard !parameters.isEmpty else { throw ObjectiveError.noData("the model has no trainable parameters") }
        var sums: [String: Tensor] = [:]
        var used = 0
        for batch in batches where batch.targetCount > 0 {
            try Train.validate(batch, vocabularySize: model.description.vocabularySize)
            let context = ObjectiveContext(model: model, batch: batch, normalizer: Float(batch.targetCount), parameters: parameters)
            let grads = try CrossEntropyObjective().loss(in: context).loss.gradients()
            for (name, p) in parameters {
                let g = grads[p] ?? Tensor.zeros(p.shape)
                let squared = g * g
                sums[name] = sums[name].map { $0 + squared } ?? squared
            }
            used += 1
        }
        guard used > 0 else { throw ObjectiveError.noData("the reference batches have no targets") }
        let scale = 1 / Float(used)
        return try FisherInformation(fisher: sums.mapValues { $0 * scale },
                                     anchor: Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.parameter.value) }))
    }

    /// Writes `fisher.<path>` and `anchor.<path>` tensors to a safetensors file.
    public func save(to url: URL) throws {
        var tensors: [String: Tensor] = [:]
        for (path, f) in fisher { tensors["fisher.\(path)"] = f }
        for (path, a) in anchor { tensors["anchor.\(path)"] = a }
        try SafetensorsWriter.write(tensors, to: url, metadata: ["format": "tailor-ewc"])
    }

    /// Reads a file written by ``save(to:)``; throws ``ObjectiveError/parameterMismatch(tensor:reason:)``
    /// for a tensor that is neither `fisher.*` nor `anchor.*` or lacks its counterpart.
    public init(contentsOf url: URL) throws {
        let file = try SafetensorsFile(contentsOf: url)
        var fisher: [String: Tensor] = [:], anchor: [String: Tensor] = [:]
        for name in file.tensorNames {
            if name.hasPrefix("fisher.") {
                fisher[String(name.dropFirst("fisher.".count))] = try file.tensor(named: name)
            } else if name.hasPrefix("anchor.") {
                anchor[String(name.dropFirst("anchor.".count))] = try file.tensor(named: name)
            } else {
                throw ObjectiveError.parameterMismatch(tensor: name, reason: "an EWC file holds only fisher.* and anchor.* tensors")
            }
        }
        try self.init(fisher: fisher, anchor: anchor)
    }

    /// Checks that the entries cover exactly `parameters` with their shapes.
    func check(against parameters: [(name: String, parameter: Parameter)]) throws {
        let byName = Dictionary(parameters.map { ($0.name, $0.parameter) }, uniquingKeysWith: { a, _ in a })
        for (path, f) in fisher.sorted(by: { $0.key < $1.key }) {
            guard let p = byName[path] else {
                throw ObjectiveError.parameterMismatch(tensor: "fisher.\(path)", reason: "the model has no trainable parameter \(path)")
            }
            guard p.shape == f.shape else {
                throw ObjectiveError.parameterMismatch(tensor: "fisher.\(path)", reason: "shape \(f.shape), the parameter has \(p.shape)")
            }
        }
        if let missing = parameters.map(\.name).first(where: { fisher[$0] == nil }) {
            throw ObjectiveError.parameterMismatch(tensor: "fisher.\(missing)", reason: "missing for trainable parameter \(missing)")
        }
    }
}
