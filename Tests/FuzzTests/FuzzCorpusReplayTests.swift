import Foundation
import FuzzHarnesses
import XCTest

/// Replays the committed fuzz corpora (minimized by Scripts/fuzz.sh, including every input that
/// once crashed) through the harnesses, so a regression fails without a fuzzer.
final class FuzzCorpusReplayTests: XCTestCase {
    func testEveryCorpusReplaysWithoutCrashing() throws {
        for (name, harness) in FuzzHarness.all.sorted(by: { $0.key < $1.key }) {
            let files = FuzzCorpus.files(at: FuzzCorpus.folder(name))
            XCTAssertFalse(files.isEmpty, "no corpus committed for \(name)")
            for file in files { harness.run(try Data(contentsOf: file)) }
        }
    }

    /// The checkpoint harness reaches a real restore: its seed is accepted, tampered copies are not.
    func testCheckpointHarnessRestoresItsSeedAndRejectsTamperedOnes() throws {
        let seed = try CheckpointHarness.seed()
        XCTAssertTrue(CheckpointHarness.restores(seed))
        XCTAssertFalse(CheckpointHarness.restores(seed.dropLast(64)), "truncated optimizer file")
        var flipped = [UInt8](seed)
        flipped[9] ^= 0xFF  // inside the trainer-state JSON
        XCTAssertFalse(CheckpointHarness.restores(Data(flipped)))
    }
}
