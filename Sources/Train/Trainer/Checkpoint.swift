import Foundation
import Model
import Tensor

/// The non-tensor part of a checkpoint.
struct TrainerState: Codable {
    var step: Int
    var optimizerStep: Int
    var cursor: DataCursor
    var history: TrainingHistory
    var bestEvalLoss: Float?
    var evalsWithoutImprovement: Int
    var configuration: TrainingConfiguration
    /// Random state of every module that draws its own randomness (adapter dropout), by module path.
    var moduleRandom: [String: SeededRandom]
}

extension Trainer {
    /// File names inside a checkpoint directory.
    enum CheckpointFile {
        static let parameters = "trainable.safetensors"
        static let optimizer = "optimizer.safetensors"
        static let state = "trainer_state.json"
        /// What the objective must keep (L2-SP's start point); only when it has any.
        static let objective = "objective.safetensors"
    }

    /// Writes `checkpoint-<step>` under `directory`: trainable parameters, optimizer state, the
    /// objective's own tensors (``TrainingObjective/checkpointTensors()``) and the trainer's state. The directory is assembled under a temporary name and renamed into place,
    /// so an interrupted run never leaves a half-written checkpoint.
    @discardableResult
    public func saveCheckpoint(in directory: URL) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let final = directory.appendingPathComponent("checkpoint-\(step)")
        let temp = directory.appendingPathComponent(".checkpoint-\(step).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: temp)
        try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        do {
            var params: [String: Tensor] = [:]
            for (name, p) in trainableParameters { params[name] = p.value }
            try SafetensorsWriter.write(params, to: temp.appendingPathComponent(CheckpointFile.parameters))
            try SafetensorsWriter.write(optimizer.stateTensors(), to: temp.appendingPathComponent(CheckpointFile.optimizer))
            let objectiveTensors = objective.checkpointTensors()
            if !objectiveTensors.isEmpty {
                try SafetensorsWriter.write(objectiveTensors, to: temp.appendingPathComponent(CheckpointFile.objective))
            }
            let state = TrainerState(step: step, optimizerStep: optimizer.step, cursor: cursor, history: history,
                                     bestEvalLoss: bestEvalLoss.isFinite ? bestEvalLoss : nil,
                                     evalsWithoutImprovement: evalsWithoutImprovement, configuration: configuration,
                                     moduleRandom: Dictionary(uniqueKeysWithValues: stochasticModules.map { ($0.path, $0.module.random) }))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(state).write(to: temp.appendingPathComponent(CheckpointFile.state), options: .atomic)
            if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
            try fm.moveItem(at: temp, to: final)
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        return final
    }

    /// Modules with random state of their own, by path.
    var stochasticModules: [(path: String, module: any StochasticModule)] {
        model.namedModules().compactMap { p, m in (m as? any StochasticModule).map { (p, $0) } }
    }

    /// Loads a checkpoint written by ``saveCheckpoint(in:)`` into this trainer and its model.
    public func restore(from checkpoint: URL) throws {
        let stateURL = checkpoint.appendingPathComponent(CheckpointFile.state)
        guard let data = try? FileBytes.read(stateURL), !data.isEmpty else {
            throw TrainingError.badCheckpoint("cannot read \(stateURL.path)")
        }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw TrainingError.badCheckpoint("\(stateURL.lastPathComponent): \(error)")
        }
        guard state.step >= 0, state.optimizerStep >= 0, state.evalsWithoutImprovement >= 0,
              state.cursor.epoch >= 0, state.cursor.index >= 0 else {
            throw TrainingError.badCheckpoint("\(stateURL.lastPathComponent): negative counters")
        }
        // Read and check every tensor before the model or the optimizer is touched.
        let params = trainableParameters
        let saved = try readTensors(checkpoint.appendingPathComponent(CheckpointFile.parameters))
        guard Set(saved.keys) == Set(params.map(\.name)) else {
            throw TrainingError.badCheckpoint("its parameters do not match the model's trainable parameters")
        }
        for (name, p) in params where saved[name]?.shape != p.value.shape {
            throw TrainingError.badCheckpoint("parameter \(name) has shape \(saved[name]?.shape ?? []), the model's is \(p.value.shape)")
        }
        let moments = try readTensors(checkpoint.appendingPathComponent(CheckpointFile.optimizer))
        let objectiveURL = checkpoint.appendingPathComponent(CheckpointFile.objective)
        if FileManager.default.fileExists(atPath: objectiveURL.path) {
            do { try objective.restore(checkpointTensors: try readTensors(objectiveURL)) } catch let error as ObjectiveError {
                throw TrainingError.badCheckpoint("\(CheckpointFile.objective): \(error)")
            }
        }
        try optimizer.restore(tensors: moments, step: state.optimizerStep, parameters: params)
        do {
            try model.update(parameters: saved, in: Dictionary(params, uniquingKeysWith: { a, _ in a }), verify: .exact)
        } catch {
            throw TrainingError.badCheckpoint("its parameters do not fit the model's trainable parameters: \(error)")
        }
        for (path, module) in stochasticModules { if let r = state.moduleRandom[path] { module.random = r } }
        step = state.step
        cursor = state.cursor
        history = state.history
        bestEvalLoss = state.bestEvalLoss ?? .infinity
        evalsWithoutImprovement = state.evalsWithoutImprovement
    }

    /// Every tensor of a checkpoint's safetensors file; any read failure is a bad checkpoint.
    private func readTensors(_ url: URL) throws -> [String: Tensor] {
        do {
            let file = try SafetensorsFile(contentsOf: url)
            var tensors: [String: Tensor] = [:]
            for name in file.tensorNames { tensors[name] = try file.tensor(named: name) }
            return tensors
        } catch {
            throw TrainingError.badCheckpoint("\(url.lastPathComponent): \(error)")
        }
    }
}
