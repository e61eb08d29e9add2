import ArgumentParser
import CBLAS
import Foundation
import Tailor

/// `tailor-bench matmul`: GEMM and GEMV throughput of Tensor.matmul / Tensor.linear against raw
/// OpenBLAS calls on the same data, with 1 and 2 threads (OpenBLAS's own threads for the raw calls,
/// Tailor's split for the tensor ops).
struct MatmulBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul",
        abstract: "GFLOP/s of Tensor.matmul/linear vs cblas_sgemm, and GB/s of M = 1 products."
    )

    @Flag(help: "Fewer shapes and repetitions.")
    var quick = false

    /// Transformer-sized products (M, K, N): square, GPT-2 c_attn, c_fc and c_proj with 1024 tokens.
    static let shapes = [(1024, 1024, 1024), (1024, 768, 2304), (1024, 768, 3072), (1024, 3072, 768)]
    /// Matrix-vector products (K, N): GPT-2 c_attn/c_fc/c_proj and Qwen2.5-0.5B MLP up/down.
    static let vectorShapes = [(768, 2304), (768, 3072), (3072, 768), (896, 4864), (4864, 896)]

    func run() throws {
        let plan = RunPlan(quick: quick)
        let previousThreads = BLAS.threadCount
        defer { BLAS.threadCount = previousThreads }
        for (m, k, n) in quick ? Array(Self.shapes.prefix(2)) : Self.shapes {
            for threads in [1, 2] {
                BLAS.threadCount = threads
                Self.gemm(m: m, k: k, n: n, threads: threads, plan: plan)
            }
        }
        for (k, n) in quick ? Array(Self.vectorShapes.prefix(2)) : Self.vectorShapes {
            for threads in [1, 2] {
                BLAS.threadCount = threads
                Self.gemv(k: k, n: n, copies: 1, threads: threads, plan: plan)
            }
        }
        // Qwen2.5-0.5B's MLP up projection, 8 distinct weights (139 MB): memory-bound.
        for threads in [1, 2] {
            BLAS.threadCount = threads
            Self.gemv(k: 896, n: 4864, copies: 8, threads: threads, plan: plan)
        }
    }

    /// C[M, N] = A[M, K]·B[K, N] four ways: Tensor.matmul vs sgemm(NN), Tensor.linear (W [N, K]) vs
    /// sgemm(NT). The raw calls read the tensors' own buffers, so both sides see the same memory.
    static func gemm(m: Int, k: Int, n: Int, threads: Int, plan: RunPlan) {
        let pa = randomFloats(m * k, seed: 1), pb = randomFloats(k * n, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { pa.deallocate(); pb.deallocate(); c.deallocate() }
        let a = Tensor.build([m, k]) { $0.baseAddress!.update(from: pa, count: m * k) }
        let b = Tensor.build([k, n]) { $0.baseAddress!.update(from: pb, count: k * n) }
        let w = b.reshaped([n, k])  // same values read as an [N, K] weight
        let flops = 2.0 * Double(m) * Double(k) * Double(n)
        var times: [Double] = []
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                let (ap, bp) = (ab.baseAddress!, bb.baseAddress!)
                times = bestTimes(warmup: plan.warmup, runs: plan.runs, [
                    {
                        raw(threads) {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, ap,
                                        Int32(k), bp, Int32(n), 0, c, Int32(n))
                        }
                    },
                    { GradientMode.withoutGradients { _ = Tensor.matmul(a, b) } },
                    {
                        raw(threads) {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, ap,
                                        Int32(k), bp, Int32(k), 0, c, Int32(n))
                        }
                    },
                    { GradientMode.withoutGradients { _ = Tensor.linear(a, weight: w) } },
                ])
            }
        }
        // Page faults of one more call each, after the timed ones: a fresh output buffer per call
        // would show up here as ~bytes/4096 faults.
        var faults: [String: Int] = [:]
        for (impl, body) in [("tensor_matmul", { _ = Tensor.matmul(a, b) }), ("tensor_linear", { _ = Tensor.linear(a, weight: w) })] {
            let f0 = minorPageFaults()
            GradientMode.withoutGradients(body)
            faults[impl] = minorPageFaults() - f0
        }
        let (rawNN, tensor, rawNT, linear) = (times[0], times[1], times[2], times[3])
        for (impl, seconds, reference) in [("sgemm_nn", rawNN, rawNN), ("tensor_matmul", tensor, rawNN),
                                           ("sgemm_nt", rawNT, rawNT), ("tensor_linear", linear, rawNT)] {
            var fields: [(String, JSONValue)] = [
                ("bench", .string("matmul")), ("shape", .string("\(m)x\(k)x\(n)")), ("threads", .int(threads)),
                ("impl", .string(impl)), ("gflops", .number(flops / seconds * 1e-9, decimals: 1)),
                ("ms", .number(seconds * 1e3, decimals: 3)),
            ]
            if impl.hasPrefix("tensor") {
                fields.append(("overhead_pct", .number((seconds / reference - 1) * 100, decimals: 1)))
                fields.append(("page_faults_per_call", .int(faults[impl] ?? 0)))
            }
            emit(fields)
        }
    }

    /// y[1, N] = x[1, K]·Wᵀ: Tensor.linear (routed to sgemv) vs raw sgemv and raw sgemm with M = 1.
    ///
    /// GB/s counts the weight bytes read (4·N·K per product), which dominate. With `copies` > 1
    /// the products cycle through that many distinct weights (more than the 32 MB L3 in total), so
    /// the weights stream from memory as in decoding a whole model; with 1 the weight stays cached.
    static func gemv(k: Int, n: Int, copies: Int, threads: Int, plan: RunPlan) {
        let x = Tensor.build([1, k]) { buf in
            let p = randomFloats(k, seed: 3)
            buf.baseAddress!.update(from: p, count: k)
            p.deallocate()
        }
        let weights = (0..<copies).map { i in
            Tensor.build([n, k]) { buf in
                let p = randomFloats(n * k, seed: 4 + UInt64(i))
                buf.baseAddress!.update(from: p, count: n * k)
                p.deallocate()
            }
        }
        let y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { y.deallocate() }
        let bytes = 4.0 * Double(n) * Double(k) * Double(copies)
        // Raw pointers into the tensors, valid while `weights` and `x` are alive (this scope).
        let wp = weights.map { w in w.withUnsafeBufferPointer { $0.baseAddress! } }
        let xp = x.withUnsafeBufferPointer { $0.baseAddress! }
        let runs = plan.runs * (copies > 1 ? 1 : 3)
        let times = bestTimes(warmup: plan.warmup, runs: runs, [
            {
                raw(threads) {
                    for w in wp {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, Int32(n), Int32(k), 1, xp, Int32(k),
                                    w, Int32(k), 0, y, Int32(n))
                    }
                }
            },
            {
                raw(threads) {
                    for w in wp { cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w, Int32(k), xp, 1, 0, y, 1) }
                }
            },
            { GradientMode.withoutGradients { for w in weights { _ = Tensor.linear(x, weight: w) } } },
        ])
        let (sgemm, sgemv, linear) = (times[0], times[1], times[2])
        withExtendedLifetime((x, weights)) {}
        for (impl, seconds) in [("sgemm_m1", sgemm), ("sgemv", sgemv), ("tensor_linear", linear)] {
            emit([("bench", .string(copies > 1 ? "gemv_stream" : "gemv")), ("shape", .string("1x\(k)x\(n)")),
                  ("weights_mb", .number(bytes / 1_048_576, decimals: 1)), ("threads", .int(threads)),
                  ("impl", .string(impl)), ("gbps", .number(bytes / seconds * 1e-9, decimals: 2)),
                  ("us_per_product", .number(seconds / Double(copies) * 1e6, decimals: 1)),
                  ("vs_sgemm_m1", .number(sgemm / seconds, decimals: 2))])
        }
    }

    /// Runs raw OpenBLAS calls on `threads` of OpenBLAS's own threads, then puts it back on the one
    /// thread Tailor keeps it on.
    static func raw(_ threads: Int, _ body: () -> Void) {
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(1) }
        body()
    }
}
