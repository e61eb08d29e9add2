@testable import TailorDistributed
import XCTest

/// The flat-bucket layout of gradients for all-reduce.
final class GradientBucketsTests: XCTestCase {
    func testTensorsArePackedInOrderAndSplitAcrossBuckets() {
        let layout = GradientBuckets(counts: [3, 10, 0, 2], capacity: 4)
        XCTAssertEqual(layout.sizes, [4, 4, 4, 3])
        // Every element of every tensor lies in exactly one place, in order.
        for (tensor, count) in [3, 10, 0, 2].enumerated() {
            var next = 0
            for p in layout.placements[tensor] {
                XCTAssertEqual(p.segment.tensor, tensor)
                XCTAssertEqual(p.segment.tensorOffset, next)
                XCTAssertLessThanOrEqual(p.segment.bucketOffset + p.segment.count, layout.sizes[p.bucket])
                next += p.segment.count
            }
            XCTAssertEqual(next, count)
        }
        // Buckets are filled without gaps.
        for (b, segments) in layout.buckets.enumerated() {
            var offset = 0
            for s in segments {
                XCTAssertEqual(s.bucketOffset, offset)
                offset += s.count
            }
            XCTAssertEqual(offset, layout.sizes[b])
        }
    }

    func testOneBucketWhenEverythingFits() {
        let layout = GradientBuckets(counts: [5, 7], capacity: 1 << 20)
        XCTAssertEqual(layout.sizes, [12])
        XCTAssertEqual(layout.placements[1], [.init(bucket: 0, segment: .init(tensor: 1, tensorOffset: 0, bucketOffset: 5, count: 7))])
    }

    func testNothingToSend() {
        XCTAssertEqual(GradientBuckets(counts: [], capacity: 8).sizes, [])
        XCTAssertEqual(GradientBuckets(counts: [0, 0], capacity: 8).sizes, [])
    }
}
