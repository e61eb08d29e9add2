import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench attention`: forward and backward throughput of the fused GQA attention kernel.
struct AttentionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "GFLOP/s of causal attention forward and backward (GPT-2 and Qwen2.5 head shapes)."
    )

    @Flag(help: "Fewer repetitions.")
    var quick = false

    /// Flop convention printed with every record.
    static let convention = "fwd=4*B*H*T^2*D (both products over the full TxS score matrix, causal mask not discounted); bwd=2*fwd"

    func run() throws {
        let plan = RunPlan(quick: quick)
        for (name, b, t, h, g, d) in [("gpt2", 4, 256, 12, 12, 64), ("qwen2.5-0.5b", 4, 256, 14, 2, 64)] {
            Self.measure(name: name, batch: b, tokens: t, heads: h, kvHeads: g, headDim: d, plan: plan)
        }
    }

    static func measure(name: String, batch B: Int, tokens T: Int, heads H: Int, kvHeads G: Int, headDim D: Int, plan: RunPlan) {
        let q = randomFloats(B * T * H * D, seed: 11), k = randomFloats(B * T * G * D, seed: 12)
        let v = randomFloats(B * T * G * D, seed: 13), dOut = randomFloats(B * T * H * D, seed: 14)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: B * T * H * D)
        let lse = UnsafeMutablePointer<Float>.allocate(capacity: B * H * T)
        let dq = UnsafeMutablePointer<Float>.allocate(capacity: B * T * H * D)
        let dk = UnsafeMutablePointer<Float>.allocate(capacity: B * T * G * D)
        let dv = UnsafeMutablePointer<Float>.allocate(capacity: B * T * G * D)
        defer { for p in [q, k, v, dOut, out, lse, dq, dk, dv] { p.deallocate() } }
        let shape = AttentionKernel.Shape(batch: B, queries: T, keys: T, heads: H, kvHeads: G, headDim: D)
        let mask = AttentionMask(causal: true, queryOffset: 0)
        let scale = 1 / Float(D).squareRoot()
        let forward = bestTime(warmup: plan.warmup, runs: plan.runs) {
            AttentionKernel.forward(q: q, k: k, v: v, kvRowStride: G * D, kvBatchStride: T * G * D, out: out, lse: lse,
                                    shape: shape, scale: scale, mask: mask)
        }
        let backward = bestTime(warmup: plan.warmup, runs: plan.runs) {
            dk.update(repeating: 0, count: B * T * G * D)
            dv.update(repeating: 0, count: B * T * G * D)
            AttentionKernel.backward(q: q, k: k, v: v, out: out, lse: lse, dOut: dOut, dq: dq, dk: dk, dv: dv,
                                     shape: shape, scale: scale, mask: mask)
        }
        let fwdFlops = 4.0 * Double(B * H * T * T * D)
        let base: [(String, JSONValue)] = [
            ("bench", .string("attention")), ("model", .string(name)),
            ("shape", .string("B\(B) T\(T) H\(H) G\(G) D\(D)")), ("threads", .int(Parallel.coreCount)),
        ]
        emit(base + [("pass", .string("forward")), ("gflops", .number(fwdFlops / forward * 1e-9, decimals: 1)),
                     ("ms", .number(forward * 1e3, decimals: 2)), ("flops", .string(convention))])
        emit(base + [("pass", .string("backward")), ("gflops", .number(2 * fwdFlops / backward * 1e-9, decimals: 1)),
                     ("ms", .number(backward * 1e3, decimals: 2)), ("flops", .string(convention))])
        emit(base + [("pass", .string("forward+backward")),
                     ("gflops", .number(3 * fwdFlops / (forward + backward) * 1e-9, decimals: 1)),
                     ("ms", .number((forward + backward) * 1e3, decimals: 2)),
                     ("tokens_per_s", .number(Double(B * T) / (forward + backward), decimals: 0)),
                     ("peak_rss_mb", .number(peakRSSMegabytes() ?? .nan, decimals: 1)), ("flops", .string(convention))])
    }
}
