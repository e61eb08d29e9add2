import ArgumentParser
import CBLAS
import Foundation
import Tailor

/// `tailor-bench matmul`: GEMM and GEMV throughput of Tensor.matmul / Tensor.linear against raw
/// OpenBLAS calls on the same data, with 1 and 2 BLAS threads.
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
                Self.gemv(k: k, n: n, threads: threads, plan: plan)
            }
        }
    }

    /// C[M, N] = A[M, K]·B[K, N] four ways: Tensor.matmul vs sgemm(NN), Tensor.linear (W [N, K]) vs sgemm(NT).
    static func gemm(m: Int, k: Int, n: Int, threads: Int, plan: RunPlan) {
        let pa = randomFloats(m * k, seed: 1), pb = randomFloats(k * n, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { pa.deallocate(); pb.deallocate(); c.deallocate() }
        let a = Tensor.build([m, k]) { $0.baseAddress!.update(from: pa, count: m * k) }
        let b = Tensor.build([k, n]) { $0.baseAddress!.update(from: pb, count: k * n) }
        let w = Tensor.build([n, k]) { $0.baseAddress!.update(from: pb, count: k * n) }
        let flops = 2.0 * Double(m) * Double(k) * Double(n)
        let shape = "\(m)x\(k)x\(n)"

        let rawNN = bestTime(warmup: plan.warmup, runs: plan.runs) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, pa, Int32(k),
                        pb, Int32(n), 0, c, Int32(n))
        }
        let tensor = bestTime(warmup: plan.warmup, runs: plan.runs) {
            GradientMode.withoutGradients { _ = Tensor.matmul(a, b) }
        }
        let rawNT = bestTime(warmup: plan.warmup, runs: plan.runs) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, pa, Int32(k),
                        pb, Int32(k), 0, c, Int32(n))
        }
        let linear = bestTime(warmup: plan.warmup, runs: plan.runs) {
            GradientMode.withoutGradients { _ = Tensor.linear(a, weight: w) }
        }
        for (impl, seconds, reference) in [("sgemm_nn", rawNN, rawNN), ("tensor_matmul", tensor, rawNN),
                                           ("sgemm_nt", rawNT, rawNT), ("tensor_linear", linear, rawNT)] {
            var fields: [(String, JSONValue)] = [
                ("bench", .string("matmul")), ("shape", .string(shape)), ("threads", .int(threads)),
                ("impl", .string(impl)), ("gflops", .number(flops / seconds * 1e-9, decimals: 1)),
                ("ms", .number(seconds * 1e3, decimals: 3)),
            ]
            if seconds != reference {
                fields.append(("overhead_pct", .number((seconds / reference - 1) * 100, decimals: 1)))
            }
            emit(fields)
        }
    }

    /// y[1, N] = x[1, K]·Wᵀ: Tensor.linear (routed to sgemv) vs raw sgemv and raw sgemm with M = 1.
    /// GB/s counts the weight bytes read once (4·N·K), which dominate.
    static func gemv(k: Int, n: Int, threads: Int, plan: RunPlan) {
        let px = randomFloats(k, seed: 3), pw = randomFloats(n * k, seed: 4)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { px.deallocate(); pw.deallocate(); y.deallocate() }
        let x = Tensor.build([1, k]) { $0.baseAddress!.update(from: px, count: k) }
        let w = Tensor.build([n, k]) { $0.baseAddress!.update(from: pw, count: n * k) }
        let bytes = 4.0 * Double(n) * Double(k)
        let sgemm = bestTime(warmup: plan.warmup, runs: plan.runs * 3) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, Int32(n), Int32(k), 1, px, Int32(k),
                        pw, Int32(k), 0, y, Int32(n))
        }
        let sgemv = bestTime(warmup: plan.warmup, runs: plan.runs * 3) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, pw, Int32(k), px, 1, 0, y, 1)
        }
        let linear = bestTime(warmup: plan.warmup, runs: plan.runs * 3) {
            GradientMode.withoutGradients { _ = Tensor.linear(x, weight: w) }
        }
        for (impl, seconds) in [("sgemm_m1", sgemm), ("sgemv", sgemv), ("tensor_linear", linear)] {
            emit([("bench", .string("gemv")), ("shape", .string("1x\(k)x\(n)")), ("threads", .int(threads)),
                  ("impl", .string(impl)), ("gbps", .number(bytes / seconds * 1e-9, decimals: 2)),
                  ("us", .number(seconds * 1e6, decimals: 1)),
                  ("vs_sgemm_m1", .number(sgemm / seconds, decimals: 2))])
        }
    }
}
