import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench qmatmul`: the quantized linear op against the dense one on the default model's shapes.
struct QuantBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "qmatmul", abstract: "Quantized vs dense linear GFLOP/s.")

    @Option(help: "Input rows (1 = decoding, 256 = a training sequence).") var rows = 256
    @Option(help: "Repetitions (best time is reported).") var repeats = 5

    func run() throws {
        let archive = try GGUFWeightArchive(contentsOf: BenchModels.defaultModelURL)
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight",
                     "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight", "lm_head.weight"] {
            guard let q = try archive.quantizedMatrix(named: name) else { continue }
            let dense = try archive.tensor(named: name)
            var rng = SeededRandom(seed: 1)
            let x = Tensor.normal([rows, q.columns], using: &rng)
            let flops = 2.0 * Double(rows) * Double(q.rows) * Double(q.columns)
            let xp = Parameter(x)
            let cases: [(String, () -> Void)] = [
                ("dense", { _ = Tensor.linear(x, weight: dense) }),
                ("quantized", { _ = Tensor.linear(x, quantizedWeight: q) }),
                ("dense+backward", { _ = Tensor.linear(xp.tensor, weight: dense).sum().gradients() }),
                ("quantized+backward", { _ = Tensor.linear(xp.tensor, quantizedWeight: q).sum().gradients() }),
            ]
            for (impl, f) in cases {
                let best = bestTime(warmup: 1, runs: repeats, f)
                emit([("bench", .string("qmatmul")), ("tensor", .string(name)), ("type", .string("\(q.type)")),
                      ("shape", .string("\(rows)x\(q.columns)x\(q.rows)")), ("impl", .string(impl)),
                      ("gflops", .number((impl.hasSuffix("backward") ? 2 : 1) * flops / best / 1e9, decimals: 1)),
                      ("ms", .number(best * 1e3, decimals: 2))])
            }
        }
    }
}
