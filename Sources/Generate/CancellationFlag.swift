import Foundation

/// A thread-safe flag that can only be raised: how a `GenerationStream` tells its producer to stop,
/// whichever thread the producer runs on.
final class CancellationFlag: @unchecked Sendable {  // all state is guarded by `lock`
    private let lock = NSLock()
    private var raised = false

    /// Raises the flag.
    func set() {
        lock.lock()
        raised = true
        lock.unlock()
    }

    /// Whether the flag has been raised.
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return raised
    }
}
