import Foundation
import Model
import PEFT
import Synchronization
import Tensor
import Train

/// Training checkpoints (`Trainer.restore(from:)`): trainer state JSON, trainable parameters and
/// optimizer moments, all three from the input.
///
/// An input is `[UInt32 LE: JSON length][UInt32 LE: parameters length][JSON][parameters][optimizer]`
/// (``encode(state:parameters:optimizer:)``); the harness writes the three files into a scratch
/// checkpoint folder and restores it into a trainer of the tiny fixture model with a LoRA adapter.
public enum CheckpointHarness {
    /// The trainer every input is restored into, made on first use.
    private static let trainer = Mutex<Trainer?>(nil)

    static func run(_ data: Data) { _ = restores(data) }

    /// Whether `data` decodes to a checkpoint the trainer accepts (anything else must be a typed error).
    public static func restores(_ data: Data) -> Bool {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { return false }
        func length(at i: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[i + $1]) << (8 * $1) } }
        let stateCount = length(at: 0), parameterCount = length(at: 4)
        guard stateCount <= bytes.count - 8, parameterCount <= bytes.count - 8 - stateCount else { return false }
        let state = Data(bytes[8..<(8 + stateCount)])
        let parameters = Data(bytes[(8 + stateCount)..<(8 + stateCount + parameterCount)])
        let optimizer = Data(bytes[(8 + stateCount + parameterCount)...])
        let folder = ScratchFile.directory.appendingPathComponent("tailor-fuzz-\(getpid())-checkpoint")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard (try? state.write(to: folder.appendingPathComponent("trainer_state.json"))) != nil,
              (try? parameters.write(to: folder.appendingPathComponent("trainable.safetensors"))) != nil,
              (try? optimizer.write(to: folder.appendingPathComponent("optimizer.safetensors"))) != nil else { return false }
        return trainer.withLock { t in
            if t == nil { t = try? makeTrainer() }
            return (try? t?.restore(from: folder)) != nil
        }
    }

    /// The input format of this harness for the three files of a checkpoint.
    public static func encode(state: Data, parameters: Data, optimizer: Data) -> Data {
        func le(_ n: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } }
        return Data(le(state.count) + le(parameters.count)) + state + parameters + optimizer
    }

    /// A real checkpoint of the harness's trainer after one step, encoded as an input (a seed).
    public static func seed() throws -> Data {
        let t = try makeTrainer()
        let batch = TrainingBatch(inputIDs: [1, 2, 3, 4], labels: [2, 3, 4, TokenizedExample.ignoreIndex], batchSize: 1)
        _ = try t.fit(train: FixedBatches([batch]))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-fuzz-seed-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try t.saveCheckpoint(in: dir)
        func read(_ name: String) throws -> Data { try Data(contentsOf: checkpoint.appendingPathComponent(name)) }
        return encode(state: try read("trainer_state.json"), parameters: try read("trainable.safetensors"),
                      optimizer: try read("optimizer.safetensors"))
    }

    private static func makeTrainer() throws -> Trainer {
        let model = try LanguageModel.loadModel(from: FuzzFixtures.cliModel)
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj", "v_proj"])), to: model)
        return try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1, learningRate: 1e-3))
    }
}
