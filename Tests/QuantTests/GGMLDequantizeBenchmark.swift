import Foundation
import XCTest
import Quant

/// Dequantization throughput, printed only (no timed assertions). Runs when TAILOR_BENCH=1:
///     TAILOR_BENCH=1 swift test -c release --filter GGMLDequantizeBenchmark
final class GGMLDequantizeBenchmark: XCTestCase {
    func testThroughput() throws {
        guard ProcessInfo.processInfo.environment["TAILOR_BENCH"] == "1" else {
            throw XCTSkip("set TAILOR_BENCH=1 to measure dequantization throughput")
        }
        let count = 896 * 4864  // one Qwen2.5-0.5B FFN matrix
        var output = [Float](repeating: 0, count: count)  // faulted in once, reused
        for type in GGMLType.allCases {
            let fixture = GGMLDequantizeTests.fixtures.appendingPathComponent("\(type.name).blocks")
            let pattern = try Data(contentsOf: fixture)
            let needed = try XCTUnwrap(type.byteCount(forValues: count))
            var bytes = Data(capacity: needed)
            while bytes.count < needed { bytes.append(pattern.prefix(needed - bytes.count)) }
            var best = Double.infinity
            try bytes.withUnsafeBytes { raw in
                try output.withUnsafeMutableBufferPointer { out in
                    for _ in 0..<15 {
                        let start = DispatchTime.now().uptimeNanoseconds
                        try type.dequantize(raw, count: count, into: out.baseAddress!)
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    }
                }
            }
            let gbps = Double(count * 4) / best / 1e9
            print("[bench] \(type.name): \(String(format: "%.2f", gbps)) GB/s of Float32 output (\(String(format: "%.2f", best * 1e3)) ms for \(count) values)")
        }
    }
}
