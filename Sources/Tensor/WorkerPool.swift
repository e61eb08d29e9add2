import CKernels
import Dispatch
import Foundation
import Synchronization

/// Threads that stay up between parallel regions, behind ``Parallel/forRanges(_:minimumChunk:piecesPerWorker:_:)``.
///
/// A decoding step is a few hundred short parallel products. Waking a sleeping thread for each
/// (what `DispatchQueue.concurrentPerform` does) costs tens of microseconds in a virtual machine, a
/// good part of a product that lasts 50–200 µs. So each worker spins for a short while after a
/// region, watching for the next one, and only then sleeps on its semaphore.
///
/// One region runs at a time: a call that finds the pool busy (a nested region, or another thread's)
/// runs its chunks itself. Chunks are claimed from an atomic counter tagged with the region's
/// generation, so a late worker can never run a chunk of a region that has already ended.
final class WorkerPool: Sendable {
    /// The pool for the process: one worker less than ``Parallel/coreCount`` (the caller is the other).
    static let shared = WorkerPool(workers: Parallel.coreCount - 1)

    /// How long a worker watches for the next region before it sleeps.
    static let spinNanoseconds: UInt64 = 100_000

    /// A worker's wake-up signal.
    private final class Worker: Sendable {
        /// Set by the worker before it sleeps; cleared by whoever wakes it.
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    /// The region in flight: its body and how its `0..<count` is cut.
    private struct Region: Sendable {
        let generation: Int
        let work: DisjointWork
        let count: Int
        let chunks: Int
        let per: Int
    }

    private let workers: [Worker]
    /// Generation in the high 32 bits, the next unclaimed chunk in the low 32.
    private let claims = Atomic<Int>(0)
    /// Chunks of the current region that have finished.
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// Threads holding a copy of the current region's body.
    private let attached = Atomic<Int>(0)
    private let region = Mutex<Region?>(nil)

    private init(workers count: Int) {
        workers = (0..<max(0, count)).map { _ in Worker() }
        for worker in workers {
            let thread = Thread { [self] in run(worker) }
            thread.start()
        }
    }

    /// Runs `body` over `chunks` pieces of `0..<count` on the workers and the calling thread; false
    /// (nothing run) when the pool has no workers or another region holds it.
    func run(count: Int, chunks: Int, _ body: (Range<Int>) -> Void) -> Bool {
        guard !workers.isEmpty, chunks < 1 << 31,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            let generation = (claims.load(ordering: .relaxed) >> 32) &+ 1
            region.withLock { $0 = Region(generation: generation, work: DisjointWork(body), count: count, chunks: chunks, per: per) }
            finished.store(0, ordering: .relaxed)
            claims.store(generation << 32, ordering: .sequentiallyConsistent)
            for worker in workers where worker.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                worker.wake.signal()
            }
            runAttached()
            while finished.load(ordering: .acquiring) < chunks { tk_cpu_relax() }
            // No copy of the body may outlive this block: clear the slot, then wait for workers
            // that took one to drop it.
            region.withLock { $0 = nil }
            while attached.load(ordering: .acquiring) > 0 { tk_cpu_relax() }
        }
        return true
    }

    /// Runs chunks of the region in the slot (of `generation`, when given), counted in `attached`
    /// while the copy of its body is held.
    private func runAttached(generation: Int? = nil) {
        attached.add(1, ordering: .sequentiallyConsistent)
        runSlot(generation: generation)  // its copy of the region is gone when it returns
        attached.subtract(1, ordering: .releasing)
    }

    @inline(never)
    private func runSlot(generation: Int?) {
        guard let current = region.withLock({ $0 }) else { return }
        if generation == nil || current.generation == generation { runChunks(of: current) }
    }

    /// Claims and runs chunks of `current` until none is left; chunks of a later region are never taken.
    private func runChunks(of current: Region) {
        while true {
            let claim = claims.load(ordering: .acquiring)
            guard claim >> 32 == current.generation else { return }
            let chunk = claim & 0xFFFF_FFFF
            guard chunk < current.chunks else { return }
            guard claims.compareExchange(expected: claim, desired: claim + 1, ordering: .acquiringAndReleasing).exchanged else { continue }
            let lo = chunk * current.per, hi = min(current.count, lo + current.per)
            if lo < hi { current.work.body(lo..<hi) }
            finished.add(1, ordering: .releasing)
        }
    }

    /// A worker's loop: watch for a new generation (spinning, then sleeping), run its chunks.
    private func run(_ worker: Worker) {
        var seen = 0
        while true {
            var deadline: UInt64 = 0
            while claims.load(ordering: .acquiring) >> 32 == seen {
                tk_cpu_relax()
                let now = DispatchTime.now().uptimeNanoseconds
                if deadline == 0 { deadline = now + Self.spinNanoseconds; continue }
                guard now >= deadline else { continue }
                worker.sleeping.store(true, ordering: .sequentiallyConsistent)
                if claims.load(ordering: .sequentiallyConsistent) >> 32 == seen {
                    worker.wake.wait()
                } else if !worker.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                    worker.wake.wait()  // a caller cleared the flag and signalled: take that signal
                }
                deadline = 0
            }
            seen = claims.load(ordering: .acquiring) >> 32
            runAttached(generation: seen)
        }
    }
}

/// A closure handed to worker threads that each process a disjoint part of the data.
struct DisjointWork: @unchecked Sendable {
    let body: (Range<Int>) -> Void
    init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
}
