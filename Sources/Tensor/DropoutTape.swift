import Synchronization

/// The random states dropout drew from in a checkpointed segment's forward pass, so that the
/// recompute in the backward pass draws the very same masks (see ``GradientCheckpointing``).
///
/// A tape is used by the one task that runs the segment and its backward pass; the mutex makes the
/// task-local sharing sound anyway.
final class DropoutTape: Sendable {
    /// The tape that dropout appends its generator's state to (the segment's first pass).
    @TaskLocal static var recording: DropoutTape?
    /// The tape that dropout takes its generator's state from instead (the recompute).
    @TaskLocal static var replaying: DropoutTape?

    /// The recorded states and the index of the next one to replay.
    private let state = Mutex<(saved: [SeededRandom], next: Int)>(([], 0))

    /// Stores the generator state a dropout call is about to draw from.
    func record(_ rng: SeededRandom) { state.withLock { $0.saved.append(rng) } }

    /// Starts replaying from the first recorded state.
    func rewind() { state.withLock { $0.next = 0 } }

    /// The next recorded state, or nil when the recompute draws more often than the first pass did.
    func nextState() -> SeededRandom? {
        state.withLock { tape in
            guard tape.next < tape.saved.count else { return nil }
            defer { tape.next += 1 }
            return tape.saved[tape.next]
        }
    }
}
