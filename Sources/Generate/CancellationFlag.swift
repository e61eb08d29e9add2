import Synchronization

/// A thread-safe flag that can only be raised: how a `GenerationStream` tells its producer to stop,
/// whichever thread the producer runs on.
final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    /// Raises the flag.
    func set() { raised.store(true, ordering: .releasing) }

    /// Whether the flag has been raised.
    var isSet: Bool { raised.load(ordering: .acquiring) }
}
