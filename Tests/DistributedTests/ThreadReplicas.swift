import Foundation
import Synchronization
import Tensor
import Train

/// N data-parallel replicas as threads of one process, for testing the trainer's hook without MPI:
/// each thread gets a ``ThreadReplica`` whose sums meet the others' in shared memory and add the
/// contributions in rank order (as a two-rank all-reduce does).
@available(macOS 15.0, *)
final class ThreadGroup: Sendable {
    let size: Int
    let doubles: Rendezvous<Double>
    let floats: Rendezvous<Float>

    init(size: Int) {
        self.size = size
        doubles = Rendezvous(size: size)
        floats = Rendezvous(size: size)
    }

    /// Runs `body(rank, communicator)` on `size` threads and returns the results by rank.
    func run<R: Sendable>(_ body: @escaping @Sendable (Int, ThreadReplica) throws -> R) throws -> [R] {
        let results = Outcomes<R>()
        let done = DispatchGroup()
        for rank in 0..<size {
            done.enter()
            let thread = Thread {
                let outcome = Result { try body(rank, ThreadReplica(group: self, rank: rank)) }
                results.record(outcome, rank: rank)
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.inRankOrder(size)
    }
}

/// The replicas' results, filled in by their threads.
@available(macOS 15.0, *)
final class Outcomes<R: Sendable>: Sendable {
    private let byRank = Mutex<[Int: Result<R, any Error>]>([:])
    /// As in ``Rendezvous``: a pthread lock ThreadSanitizer can see, held with the futex `Mutex`.
    private let sanitizerVisibleOrder = NSLock()

    func record(_ outcome: Result<R, any Error>, rank: Int) {
        sanitizerVisibleOrder.lock()
        defer { sanitizerVisibleOrder.unlock() }
        byRank.withLock { $0[rank] = outcome }
    }

    func inRankOrder(_ size: Int) throws -> [R] {
        sanitizerVisibleOrder.lock()
        defer { sanitizerVisibleOrder.unlock() }
        return try byRank.withLock { r in try (0..<size).map { try r[$0]!.get() } }
    }
}

/// One thread's view of a ``ThreadGroup``.
@available(macOS 15.0, *)
final class ThreadReplica: TrainingCommunicator {
    let group: ThreadGroup
    let rank: Int
    private var doubleRound = 0, floatRound = 0
    /// Sums performed so far (for tests that count collectives).
    private(set) var calls = 0

    init(group: ThreadGroup, rank: Int) {
        self.group = group
        self.rank = rank
    }

    var worldSize: Int { group.size }

    func sum(_ values: inout [Double]) throws {
        values = try group.doubles.sum(values, rank: rank, round: doubleRound)
        doubleRound += 1
        calls += 1
    }

    func sum(_ gradients: inout [Tensor]) throws {
        let flat = gradients.flatMap(\.scalars)
        let summed = try group.floats.sum(flat, rank: rank, round: floatRound)
        floatRound += 1
        calls += 1
        var offset = 0
        gradients = try gradients.map { g in
            defer { offset += g.count }
            return try Tensor(shape: g.shape, values: Array(summed[offset..<(offset + g.count)]))
        }
    }
}

/// Where the replicas' contributions to each round meet.
@available(macOS 15.0, *)
final class Rendezvous<Element: AdditiveArithmetic & Sendable>: Sendable {
    private struct State {
        var deposits: [Int: [[Element]?]] = [:]
        var results: [Int: (values: [Element], readers: Int)] = [:]
    }

    private let size: Int
    private let state = Mutex(State())
    /// `Mutex` waits on a futex, which ThreadSanitizer cannot see, so it reported every handoff
    /// through `state` as a race. Holding this pthread-based lock as well gives TSan the order.
    private let sanitizerVisibleOrder = NSLock()

    init(size: Int) { self.size = size }

    struct Timeout: Error {}

    /// The element-wise sum of every replica's `values` for `round`, added in rank order.
    func sum(_ values: [Element], rank: Int, round: Int) throws -> [Element] {
        withState { s in
            var slots = s.deposits[round] ?? Array(repeating: nil, count: size)
            slots[rank] = values
            if slots.allSatisfy({ $0 != nil }) {
                var total = slots[0]!
                for other in slots.dropFirst() {
                    precondition(other!.count == total.count, "replicas passed \(total.count) and \(other!.count) values")
                    for i in total.indices { total[i] += other![i] }
                }
                s.results[round] = (total, 0)
                s.deposits[round] = nil
            } else {
                s.deposits[round] = slots
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let result: [Element]? = withState { s in
                guard var entry = s.results[round] else { return nil }
                entry.readers += 1
                s.results[round] = entry.readers == size ? nil : entry
                return entry.values
            }
            if let result { return result }
            usleep(20)
        }
        throw Timeout()
    }

    private func withState<R: Sendable>(_ body: (inout State) -> R) -> R {
        sanitizerVisibleOrder.lock()
        defer { sanitizerVisibleOrder.unlock() }
        return state.withLock { body(&$0) }
    }
}
