import ArgumentParser
import Foundation
import Tailor

/// `tailor-bench qmatmul`: the quantized linear op — integer block kernels (forced with `.blocks`),
/// integer panels (`.panels`), the decoded-tile path, and the dense Float32 product — on the default model's linear shapes, at decoding (M = 1) and
/// prefill (M = 512) row counts. Weights are random blocks of each type (no model file needed).
struct QuantBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qmatmul",
        abstract: "Quantized linear: integer block kernels vs integer panels vs decoded tiles vs dense sgemm (GFLOP/s, weight GB/s).")

    @Option(parsing: .upToNextOption, help: "Input rows (1 = decoding, 512 = a prefill).") var rows: [Int] = [1, 512]
    @Option(help: "Weight types: 'model' (those the default Q4_K_M GGUF uses at each shape), 'all', or a comma-separated list such as q8_0,q4_K.")
    var types = "model"
    @Option(parsing: .upToNextOption, help: "Shapes as InxOut.") var shapes = ["896x896", "896x4864", "4864x896", "896x151936"]
    @Option(help: "Timed repetitions (best is reported).") var repeats = 3
    @Flag(help: "Also time forward + backward (dx) of the quantized op and of the dense one.") var backward = false
    @Flag(help: "Skip the dense sgemm baseline.") var noDense = false

    /// The types the default model stores at each shape (In x Out).
    static let modelTypes: [String: [GGMLType]] = [
        "896x896": [.q5_0], "896x4864": [.q5_0], "4864x896": [.q6_K, .q4_K], "896x151936": [.q8_0],
    ]
    static let integerTypes: [GGMLType] = [.q8_0, .q4_0, .q5_0, .q4_K, .q5_K, .q6_K]

    func run() throws {
        for shape in shapes {
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("shape \(shape) is not InxOut") }
            let (k, n) = (parts[0], parts[1])
            for type in try selectedTypes(shape) where k % type.blockSize == 0 {
                let q = try Self.randomMatrix(type, rows: n, columns: k, seed: UInt64(k * 31 + n))
                let dense = noDense ? nil : q.dequantized()
                for m in rows {
                    try measure(q, dense: dense, m: m)
                }
            }
        }
    }

    private func selectedTypes(_ shape: String) throws -> [GGMLType] {
        switch types {
        case "model": return Self.modelTypes[shape] ?? [.q8_0]
        case "all": return Self.integerTypes
        default:
            return try types.split(separator: ",").map { name in
                guard let t = GGMLType.allCases.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw ValidationError("unknown type \(name)")
                }
                return t
            }
        }
    }

    private func measure(_ q: QuantizedMatrix, dense: Tensor?, m: Int) throws {
        var rng = SeededRandom(seed: UInt64(m))
        let x = Tensor.normal([m, q.columns], using: &rng)
        let xp = Parameter(x)
        var cases: [(String, Int, () -> Void)] = [
            ("integer", q.byteCount, { _ = Tensor.linear(x, quantizedWeight: q, kernel: .blocks) }),
            ("panels", q.byteCount, { _ = Tensor.linear(x, quantizedWeight: q, kernel: .panels) }),
            ("tiles", q.byteCount, { _ = Tensor.linear(x, quantizedWeight: q, kernel: .decodedTiles) }),
        ]
        if let dense {
            cases.append(("dense", 4 * dense.count, { _ = Tensor.linear(x, weight: dense) }))
        }
        if backward {
            cases.append(("integer+backward", q.byteCount, { _ = Tensor.linear(xp.tensor, quantizedWeight: q, kernel: .blocks).sum().gradients() }))
            cases.append(("panels+backward", q.byteCount, { _ = Tensor.linear(xp.tensor, quantizedWeight: q, kernel: .panels).sum().gradients() }))
            cases.append(("tiles+backward", q.byteCount, { _ = Tensor.linear(xp.tensor, quantizedWeight: q, kernel: .decodedTiles).sum().gradients() }))
            if let dense {
                cases.append(("dense+backward", 4 * dense.count, { _ = Tensor.linear(xp.tensor, weight: dense).sum().gradients() }))
            }
        }
        let flops = 2.0 * Double(m) * Double(q.rows) * Double(q.columns)
        let times = bestTimes(warmup: 1, runs: repeats, cases.map { $0.2 })
        for ((impl, bytes, _), best) in zip(cases, times) {
            let passes = impl.hasSuffix("backward") ? 2.0 : 1.0
            emit([("bench", .string("qmatmul")), ("type", .string(q.type.name)), ("impl", .string(impl)),
                  ("m", .int(m)), ("in", .int(q.columns)), ("out", .int(q.rows)),
                  ("ms", .number(best * 1e3, decimals: 3)),
                  ("gflops", .number(passes * flops / best / 1e9, decimals: 1)),
                  ("weight_gb_per_s", .number(passes * Double(bytes) / best / 1e9, decimals: 2))])
        }
    }

    /// Random blocks of `type` with fp16 scales near 0.01 (quant bytes uniformly random).
    static func randomMatrix(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) throws -> QuantizedMatrix {
        var rng = SeededRandom(seed: seed)
        let blocks = rows * columns / type.blockSize, size = type.bytesPerBlock
        var bytes = [UInt8](repeating: 0, count: blocks * size)
        func half(_ v: Float) -> (UInt8, UInt8) { let b = Float16(v).bitPattern; return (UInt8(b & 0xFF), UInt8(b >> 8)) }
        bytes.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= raw.count { raw.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self); i += 8 }
            while i < raw.count { raw[i] = UInt8(truncatingIfNeeded: rng.next()); i += 1 }
        }
        for b in 0..<blocks {
            let base = b * size
            let scaleOffsets: [Int]
            switch type {
            case .q4_K, .q5_K, .q4_1, .q5_1: scaleOffsets = [0, 2]
            case .q6_K: scaleOffsets = [208]
            case .f32, .f16, .bf16: scaleOffsets = []
            default: scaleOffsets = [0]
            }
            for o in scaleOffsets {
                let (lo, hi) = half(0.005 + 0.01 * rng.nextUniform())
                bytes[base + o] = lo
                bytes[base + o + 1] = hi
            }
        }
        return try QuantizedMatrix(type: type, rows: rows, columns: columns, copying: bytes)
    }
}
