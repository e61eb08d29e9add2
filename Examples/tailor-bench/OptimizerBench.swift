import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench optimizer`: one optimizer update over N weights, Float32 AdamW against 8-bit AdamW,
/// with the bytes each touches per second.
struct OptimizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "optimizer", abstract: "AdamW vs AdamW8bit update time and GB/s.")

    @Option(help: "Weights in the one parameter updated.") var weights = 50_000_000
    @Option(help: "Timed updates (after one warm-up update).") var repeats = 3

    func run() throws {
        var rng = SeededRandom(seed: 1)
        let gradient = Tensor.normal([weights], std: 1e-3, using: &rng)
        // Bytes read and written per weight: weight, gradient, two moments (Float32: 4 + 4 + 2·4 read,
        // 4 + 2·4 written; 8-bit: 4 + 4 + 2 read, 4 + 2 written).
        for (name, kind, bytes) in [("adamw", OptimizerKind.adamW(), 28.0), ("adamw8bit", .adamW8bit(), 16.0)] {
            let parameter = Parameter(Tensor.normal([weights], std: 0.02, using: &rng))
            let optimizer = Optimizer(kind)
            let named = [("w", parameter)], gradients = ["w": gradient]
            optimizer.update(named, gradients: gradients, learningRate: 1e-4)
            let clock = ContinuousClock(), start = clock.now
            for _ in 0..<repeats { optimizer.update(named, gradients: gradients, learningRate: 1e-4) }
            let elapsed = clock.now - start
            let seconds = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / Double(repeats)
            emit([("bench", .string("optimizer")), ("optimizer", .string(name)), ("weights", .int(weights)),
                  ("update_s", .number(seconds, decimals: 4)), ("ns_per_weight", .number(seconds * 1e9 / Double(weights), decimals: 2)),
                  ("gb_per_s", .number(bytes * Double(weights) / seconds / 1e9, decimals: 1)),
                  ("state_bytes", .int(optimizer.stateByteCount))])
        }
    }
}
