import ArgumentParser
import CKernels
import Foundation
import Tailor

/// `tailor-bench kernels`: single-thread throughput of the C kernels, AVX2+FMA build vs portable.
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GB/s of the non-BLAS kernels (one thread), AVX2 build vs portable build."
    )

    @Flag(help: "Only the cache-resident size, fewer repetitions.")
    var quick = false

    @Option(help: "Only these kernels (comma-separated names).")
    var only: String?

    /// One benchmarked kernel: the arrays of n floats it streams, and the call.
    struct Case {
        let name: String
        /// Arrays of n floats read plus written (the minimum traffic; weights of size cols ignored).
        let streams: Int
        let call: (Buffers, Int) -> Void
    }

    /// Preallocated buffers. Inputs are never written, so every kernel sees the same values
    /// whatever ran before it (accumulated outputs fed back as inputs could reach denormals).
    final class Buffers {
        /// Read-only inputs in [-1, 1), n floats each.
        let x1, x2, x3: UnsafeMutablePointer<Float>
        /// Outputs, n floats each.
        let y1, y2: UnsafeMutablePointer<Float>
        /// AdamW state (p, m, v), n floats each; v stays non-negative.
        let p, m, v: UnsafeMutablePointer<Float>
        /// Per-row statistics out (mean, rstd): n floats.
        let stats: UnsafeMutablePointer<Float>
        /// Read-only norm weights (vocab floats), per-row log-sum-exp (zeros) and loss scales.
        let weight, lse, scale: UnsafeMutablePointer<Float>
        /// Weight-gradient accumulators (2·cols floats).
        let accum: UnsafeMutablePointer<Float>
        let positions: UnsafeMutablePointer<Int32>
        let targets: UnsafeMutablePointer<Int32>
        let cosTable, sinTable: UnsafeMutablePointer<Float>
        static let cols = 1024, ropeHeads = 12, ropeDim = 64, ropePositions = 4096, vocab = 32768

        init(n: Int) {
            x1 = randomFloats(n, seed: 21); x2 = randomFloats(n, seed: 22); x3 = randomFloats(n, seed: 23)
            y1 = randomFloats(n, seed: 24); y2 = randomFloats(n, seed: 25)
            p = randomFloats(n, seed: 26); m = randomFloats(n, seed: 27); v = randomFloats(n, seed: 28)
            for i in 0..<n { m[i] *= 1e-2; v[i] = abs(v[i]) * 1e-3 }
            stats = randomFloats(n, seed: 29)
            weight = randomFloats(Buffers.vocab, seed: 30)
            lse = .allocate(capacity: n); lse.update(repeating: 0, count: n)
            scale = .allocate(capacity: n); scale.update(repeating: 1e-3, count: n)
            accum = .allocate(capacity: 2 * Buffers.cols); accum.update(repeating: 0, count: 2 * Buffers.cols)
            positions = .allocate(capacity: n)
            targets = .allocate(capacity: n)
            for i in 0..<n { positions[i] = Int32(i % Buffers.ropePositions); targets[i] = Int32((i * 7919) % Buffers.vocab) }
            let half = Buffers.ropeDim / 2
            cosTable = .allocate(capacity: Buffers.ropePositions * half)
            sinTable = .allocate(capacity: Buffers.ropePositions * half)
            for p in 0..<Buffers.ropePositions {
                for i in 0..<half {
                    let angle = Double(p) * pow(10_000, -2 * Double(i) / Double(Buffers.ropeDim))
                    cosTable[p * half + i] = Float(cos(angle)); sinTable[p * half + i] = Float(sin(angle))
                }
            }
        }

        deinit {
            for b in [x1, x2, x3, y1, y2, p, m, v, stats, weight, lse, scale, accum, cosTable, sinTable] { b.deallocate() }
            positions.deallocate(); targets.deallocate()
        }
    }

    static var cases: [Case] {
        let cols = Buffers.cols
        let (heads, dim) = (Buffers.ropeHeads, Buffers.ropeDim)
        return [
            Case(name: "exp", streams: 2) { b, n in tk_exp(b.x1, b.y1, n) },
            Case(name: "softmax_rows", streams: 2) { b, n in tk_softmax_rows(b.x1, b.y1, n / cols, cols) },
            Case(name: "rmsnorm", streams: 2) { b, n in tk_rmsnorm(b.x1, b.weight, b.y1, b.stats, n / cols, cols, 1e-6) },
            Case(name: "rmsnorm_backward", streams: 3) { b, n in
                tk_rmsnorm_backward(b.x1, b.weight, b.x3, b.x2, b.y1, b.accum, n / cols, cols)
            },
            Case(name: "layernorm", streams: 2) { b, n in
                tk_layernorm(b.x1, b.weight, b.weight, b.y1, b.stats, b.stats + n / cols, n / cols, cols, 1e-5)
            },
            Case(name: "layernorm_backward", streams: 3) { b, n in
                tk_layernorm_backward(b.x1, b.weight, b.x2, b.x3, b.x2, b.y1, b.accum, b.accum + cols, n / cols, cols)
            },
            Case(name: "silu", streams: 2) { b, n in tk_silu(b.x1, b.y1, n) },
            Case(name: "silu_backward", streams: 3) { b, n in tk_silu_backward(b.x1, b.x2, b.y1, n) },
            Case(name: "gelu_erf", streams: 2) { b, n in tk_gelu_erf(b.x1, b.y1, n) },
            Case(name: "gelu_erf_backward", streams: 3) { b, n in tk_gelu_erf_backward(b.x1, b.x2, b.y1, n) },
            Case(name: "gelu_tanh", streams: 2) { b, n in tk_gelu_tanh(b.x1, b.y1, n) },
            Case(name: "gelu_tanh_backward", streams: 3) { b, n in tk_gelu_tanh_backward(b.x1, b.x2, b.y1, n) },
            Case(name: "swiglu", streams: 3) { b, n in tk_swiglu(b.x1, b.x2, b.y1, n) },
            Case(name: "swiglu_backward", streams: 5) { b, n in tk_swiglu_backward(b.x1, b.x2, b.x3, b.y1, b.y2, n) },
            Case(name: "rope_neox", streams: 2) { b, n in
                tk_rope(b.x1, b.y1, n / (heads * dim), heads, dim, b.positions, b.cosTable, b.sinTable, 1, 0)
            },
            Case(name: "rope_interleaved", streams: 2) { b, n in
                tk_rope(b.x1, b.y1, n / (heads * dim), heads, dim, b.positions, b.cosTable, b.sinTable, 0, 0)
            },
            Case(name: "cross_entropy_backward", streams: 2) { b, n in
                tk_cross_entropy_backward(b.x1, b.lse, b.targets, b.scale, b.y1, n / Buffers.vocab, Buffers.vocab)
            },
            Case(name: "adamw", streams: 7) { b, n in
                tk_adamw(b.p, b.x1, b.m, b.v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001)
            },
            Case(name: "dot", streams: 2) { b, n in _ = tk_dot(b.x1, b.x2, n) },
        ]
    }

    func run() throws {
        let plan = RunPlan(quick: quick)
        // 64 Ki floats (256 KB per array: cache-resident, shows arithmetic speed) and 4 Mi floats
        // (16 MB per array: memory-bound).
        for n in quick ? [1 << 16] : [1 << 16, 1 << 22] {
            let buffers = Buffers(n: n)
            let wanted = only.map { Set($0.split(separator: ",").map(String.init)) }
            for kernel in Self.cases where wanted?.contains(kernel.name) ?? true {
                let repeats = max(1, (1 << 22) / n)
                tk_force_portable(0)
                let hasAVX2 = tk_uses_avx2() == 1
                // Both builds measured in alternation, so other load on the machine hits both alike.
                var bodies: [() -> Void] = [{
                    tk_force_portable(1)
                    for _ in 0..<repeats { kernel.call(buffers, n) }
                }]
                if hasAVX2 {
                    bodies.append {
                        tk_force_portable(0)
                        for _ in 0..<repeats { kernel.call(buffers, n) }
                    }
                }
                let times = bestTimes(warmup: plan.warmup, runs: plan.runs, bodies).map { $0 / Double(repeats) }
                for (impl, t) in zip(["portable", "avx2"], times) {
                    var fields: [(String, JSONValue)] = [
                        ("bench", .string("kernel")), ("kernel", .string(kernel.name)), ("n", .int(n)),
                        ("impl", .string(impl)), ("threads", .int(1)),
                        ("gbps", .number(Double(kernel.streams * 4 * n) / t * 1e-9, decimals: 2)),
                        ("ns_per_element", .number(t / Double(n) * 1e9, decimals: 3)),
                    ]
                    if impl == "avx2" { fields.append(("speedup_vs_portable", .number(times[0] / t, decimals: 2))) }
                    emit(fields)
                }
            }
            tk_force_portable(0)
        }
    }
}
