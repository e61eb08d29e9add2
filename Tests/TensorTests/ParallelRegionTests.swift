import Foundation
import Synchronization
@testable import Tensor
import XCTest

/// `Parallel.forRanges` on the worker pool: every index is run exactly once, whether regions come
/// one after another, nest, or arrive from several threads at once (the pool is then taken and the
/// other callers fall back to GCD).
final class ParallelRegionTests: XCTestCase {
    /// Runs a region over `count` indices and returns how often each index was visited.
    private static func visits(_ count: Int, minimumChunk: Int = 1, piecesPerWorker: Int = 1) -> [Int] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
        counts.initialize(repeating: 0, count: max(1, count))
        defer { counts.deallocate() }
        Parallel.forRanges(count, minimumChunk: minimumChunk, piecesPerWorker: piecesPerWorker) { range in
            for i in range { counts[i] += 1 }
        }
        return Array(UnsafeBufferPointer(start: counts, count: count))
    }

    func testEveryIndexOnceOverManyRegions() {
        for round in 0..<2_000 {
            let count = 1 + (round * 37) % 300
            let seen = Self.visits(count, minimumChunk: 1 + round % 5, piecesPerWorker: 1 + round % 4)
            XCTAssertEqual(seen, [Int](repeating: 1, count: count), "round \(round), count \(count)")
            if seen != [Int](repeating: 1, count: count) { return }
        }
    }

    func testNestedRegions() {
        let outer = 8, inner = 100
        let totals = Mutex<[Int]>([Int](repeating: 0, count: outer * inner))
        Parallel.forRanges(outer) { range in
            for o in range {
                let seen = Self.visits(inner)
                totals.withLock { t in for i in 0..<inner { t[o * inner + i] += seen[i] } }
            }
        }
        XCTAssertEqual(totals.withLock { $0 }, [Int](repeating: 1, count: outer * inner))
    }

    func testRegionsFromSeveralThreadsAtOnce() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { t in
            for round in 0..<300 {
                let count = 50 + (round + t) % 200
                if Self.visits(count, piecesPerWorker: 3) != [Int](repeating: 1, count: count) { failures.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
    }

    /// A region whose chunks take a while, so the workers sleep between regions and must be woken.
    func testRegionsAfterTheWorkersSleep() {
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 0.002)  // longer than the workers' spin
            let sum = Atomic<Int>(0)
            Parallel.forRanges(64, piecesPerWorker: 2) { range in
                for i in range { sum.add(i, ordering: .relaxed) }
            }
            XCTAssertEqual(sum.load(ordering: .relaxed), 64 * 63 / 2)
        }
    }
}
