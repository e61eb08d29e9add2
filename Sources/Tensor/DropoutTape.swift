import Foundation

/// The random states dropout drew from in a checkpointed segment's forward pass, so that the
/// recompute in the backward pass draws the very same masks (see ``GradientCheckpointing``).
///
/// A tape is used by the one task that runs the segment and its backward pass; the lock makes the
/// task-local sharing sound anyway (NSLock rather than `Mutex`, which needs macOS 15).
final class DropoutTape: @unchecked Sendable {  // all state is guarded by `lock`
    /// The tape that dropout appends its generator's state to (the segment's first pass).
    @TaskLocal static var recording: DropoutTape?
    /// The tape that dropout takes its generator's state from instead (the recompute).
    @TaskLocal static var replaying: DropoutTape?

    private let lock = NSLock()
    private var saved: [SeededRandom] = []
    private var next = 0

    /// Stores the generator state a dropout call is about to draw from.
    func record(_ rng: SeededRandom) { lock.withLock { saved.append(rng) } }

    /// Starts replaying from the first recorded state.
    func rewind() { lock.withLock { next = 0 } }

    /// The next recorded state, or nil when the recompute draws more often than the first pass did.
    func nextState() -> SeededRandom? {
        lock.withLock {
            guard next < saved.count else { return nil }
            defer { next += 1 }
            return saved[next]
        }
    }
}
