import Synchronization

/// The random states dropout drew from in a checkpointed segment's forward pass, so that the
/// recompute in the backward pass draws the very same masks (see ``GradientCheckpointing``).
final class DropoutTape: Sendable {
    /// The tape that dropout appends its generator's state to (the segment's first pass).
    @TaskLocal static var recording: DropoutTape?
    /// The tape that dropout takes its generator's state from instead (the recompute).
    @TaskLocal static var replaying: DropoutTape?

    private let state = Mutex<(saved: [SeededRandom], next: Int)>(([], 0))

    /// Stores the generator state a dropout call is about to draw from.
    func record(_ rng: SeededRandom) { state.withLock { $0.saved.append(rng) } }

    /// Starts replaying from the first recorded state.
    func rewind() { state.withLock { $0.next = 0 } }

    /// The next recorded state, or nil when the recompute draws more often than the first pass did.
    func nextState() -> SeededRandom? {
        state.withLock { s in
            guard s.next < s.saved.count else { return nil }
            defer { s.next += 1 }
            return s.saved[s.next]
        }
    }
}
