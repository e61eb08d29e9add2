import CMPI
import Foundation
import Tensor
import Train

/// The ranks of an MPI job (`mpirun -np N …`) as data-parallel replicas of a ``Trainer``.
///
/// ```swift
/// let communicator = try MPICommunicator()          // every rank
/// let trainer = try Trainer(model: model, configuration: config, communicator: communicator)
/// let history = try trainer.fit(train: batches)    // rank 0 writes the checkpoints
/// communicator.finalize()
/// ```
///
/// Every sum is a nonblocking in-place `MPI_Iallreduce` polled with `MPI_Testall` against
/// ``timeout``: a collective the other ranks never join (one died, stalled or runs another plan)
/// throws ``DistributedError/timedOut(operation:seconds:rank:)`` instead of hanging, after which the
/// communicator is unusable and the job should end (``abort(code:)``). Gradients travel in flat
/// buckets of ``bucketBytes``; each bucket's all-reduce starts as soon as it is packed, so packing
/// the next one overlaps its transfer.
///
/// The first communicator of a process initialises MPI (`MPI_THREAD_SERIALIZED`: use it from one
/// thread at a time); it works on its own duplicate of `MPI_COMM_WORLD` with errors returned as
/// codes, so a host's own MPI traffic does not mix with the trainer's.
public final class MPICommunicator: TrainingCommunicator {
    public let rank: Int
    public let worldSize: Int
    /// How long one collective may wait for the other ranks.
    public let timeout: Duration
    /// Largest bucket of gradients summed by one all-reduce, in bytes.
    public let bucketBytes: Int
    /// Time spent in sums so far: packing, transfer, and waiting for slower ranks.
    public private(set) var collectiveTime = Duration.zero
    /// Bytes this rank has summed so far (its buffers' sizes, not the bytes on the wire).
    public private(set) var reducedBytes = 0
    private let clock = ContinuousClock()
    private let communicator: MPI_Comm
    /// Why the communicator stopped working, after a failed collective.
    private var failure: String?
    /// Buffers of collectives that never finished: MPI may still write them, so they stay allocated.
    private var abandoned: [AnyObject] = []

    /// Joins the job, initialising MPI in this process if nothing has yet. Throws
    /// ``DistributedError/invalidSetting(_:)`` for a non-positive timeout or a bucket smaller than
    /// one float, and ``DistributedError/unusable(_:)`` once MPI has been finalized.
    public init(timeout: Duration = .seconds(600), bucketBytes: Int = 32 << 20) throws {
        guard timeout > .zero else { throw DistributedError.invalidSetting("the collective timeout must be positive") }
        guard bucketBytes >= MemoryLayout<Float>.size else {
            throw DistributedError.invalidSetting("a gradient bucket must hold at least one float (bucketBytes ≥ 4), got \(bucketBytes)")
        }
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        guard flag == 0 else { throw DistributedError.unusable("MPI was already finalized in this process") }
        MPI_Initialized(&flag)
        if flag == 0 {
            var provided: Int32 = 0
            try Self.check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided), "MPI_Init_thread")
        }
        let world = tailor_mpi_comm_world()
        try Self.check(MPI_Comm_set_errhandler(world, tailor_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var own: MPI_Comm? = tailor_mpi_comm_null()
        try Self.check(MPI_Comm_dup(world, &own), "MPI_Comm_dup")
        guard let own else { throw DistributedError.unusable("MPI_Comm_dup returned no communicator") }
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check(MPI_Comm_rank(own, &rank), "MPI_Comm_rank")
        try Self.check(MPI_Comm_size(own, &size), "MPI_Comm_size")
        self.communicator = own
        self.rank = Int(rank)
        self.worldSize = Int(size)
        self.timeout = timeout
        self.bucketBytes = min(bucketBytes, Int(Int32.max) * MemoryLayout<Float>.size)
    }

    public func sum(_ values: inout [Double]) throws {
        guard !values.isEmpty else { return }
        let started = clock.now
        defer { collectiveTime += clock.now - started }
        reducedBytes += values.count * MemoryLayout<Double>.size
        guard values.count <= Int32.max else { throw DistributedError.invalidSetting("\(values.count) values exceed one MPI message") }
        let buffer = ReductionBuffer<Double>(count: values.count)
        values.withUnsafeBufferPointer { buffer.base.update(from: $0.baseAddress!, count: values.count) }
        let operation = "sum of \(values.count) counters"
        let request = try start(buffer.base, count: values.count, type: tailor_mpi_double(), operation)
        try wait(for: [request], keeping: [buffer], operation)
        values = Array(UnsafeBufferPointer(start: buffer.base, count: values.count))
    }

    public func sum(_ gradients: inout [Tensor]) throws {
        let layout = GradientBuckets(counts: gradients.map(\.count), capacity: bucketBytes / MemoryLayout<Float>.size)
        guard !layout.sizes.isEmpty else { return }
        let started = clock.now
        defer { collectiveTime += clock.now - started }
        reducedBytes += layout.sizes.reduce(0, +) * MemoryLayout<Float>.size
        let operation = "gradient all-reduce (\(layout.sizes.reduce(0, +)) floats in \(layout.sizes.count) buckets)"
        var buffers: [ReductionBuffer<Float>] = []
        var requests: [MPI_Request?] = []
        for (b, segments) in layout.buckets.enumerated() {
            let buffer = ReductionBuffer<Float>(count: layout.sizes[b])
            for s in segments {
                gradients[s.tensor].withUnsafeBufferPointer {
                    (buffer.base + s.bucketOffset).update(from: $0.baseAddress! + s.tensorOffset, count: s.count)
                }
            }
            buffers.append(buffer)
            do {
                requests.append(try start(buffer.base, count: layout.sizes[b], type: tailor_mpi_float(), operation))
                // Drive the buckets already in flight while the next one is packed.
                try poll(&requests, operation)
            } catch {
                abandon(buffers)
                throw error
            }
        }
        try wait(for: requests, keeping: buffers, operation)
        gradients = gradients.indices.map { i in
            Tensor.build(gradients[i].shape) { out in
                for p in layout.placements[i] {
                    (out.baseAddress! + p.segment.tensorOffset).update(from: buffers[p.bucket].base + p.segment.bucketOffset,
                                                                      count: p.segment.count)
                }
            }
        }
    }

    /// Ends MPI in this process (`MPI_Finalize`, which waits for every rank to call it); call once
    /// at the end of a successful run. Later communicators cannot be created.
    public func finalize() {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        if flag == 0 { MPI_Finalize() }
    }

    /// Ends the whole job (`MPI_Abort`): every rank exits with `code`. For failures, so no rank is
    /// left waiting in a collective.
    public func abort(code: Int32 = 1) -> Never {
        MPI_Abort(tailor_mpi_comm_world(), code)
        exit(code)
    }

    // MARK: - Nonblocking collectives with a deadline

    /// Starts an in-place sum of `count` elements at `base`.
    private func start(_ base: UnsafeMutableRawPointer, count: Int, type: MPI_Datatype?, _ operation: String) throws -> MPI_Request? {
        if let failure { throw DistributedError.unusable(failure) }
        var request: MPI_Request? = tailor_mpi_request_null()
        try fail(MPI_Iallreduce(UnsafeRawPointer(tailor_mpi_in_place()), base, Int32(count), type, tailor_mpi_sum(),
                                communicator, &request), operation)
        return request
    }

    /// Lets MPI progress `requests` once; true when all of them are done.
    @discardableResult
    private func poll(_ requests: inout [MPI_Request?], _ operation: String) throws -> Bool {
        var done: Int32 = 0
        try fail(MPI_Testall(Int32(requests.count), &requests, &done, tailor_mpi_statuses_ignore()), operation)
        return done != 0
    }

    /// Polls until every request is done or the timeout passes. Spins at first (the other ranks
    /// usually arrive together and large transfers need frequent progress), then naps between
    /// polls while a slower rank finishes its micro-batches.
    private func wait(for requests: [MPI_Request?], keeping buffers: [AnyObject], _ operation: String) throws {
        var requests = requests
        let started = clock.now
        do {
            while try !poll(&requests, operation) {
                let waited = clock.now - started
                if waited >= timeout {
                    let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
                    throw DistributedError.timedOut(operation: operation, seconds: seconds, rank: rank)
                }
                if waited > .milliseconds(50) { usleep(50) }
            }
        } catch {
            abandon(buffers)
            throw error
        }
    }

    /// Marks the communicator failed, keeping the buffers MPI may still write.
    private func abandon(_ buffers: [AnyObject]) {
        abandoned += buffers
        if failure == nil { failure = "an earlier collective failed" }
    }

    /// Throws for an MPI error code, marking the communicator failed.
    private func fail(_ code: Int32, _ operation: String) throws {
        guard code != MPI_SUCCESS else { return }
        failure = "an earlier collective failed"
        throw DistributedError.mpi(operation: operation, code: code, message: Self.message(code))
    }

    private static func check(_ code: Int32, _ operation: String) throws {
        guard code != MPI_SUCCESS else { return }
        throw DistributedError.mpi(operation: operation, code: code, message: message(code))
    }

    /// MPI's text for an error code.
    private static func message(_ code: Int32) -> String {
        var text = [CChar](repeating: 0, count: 1024)
        var length: Int32 = 0
        guard MPI_Error_string(code, &text, &length) == MPI_SUCCESS else { return "unknown error" }
        return String(decoding: text.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Memory a nonblocking collective reads and writes; it must outlive the collective.
final class ReductionBuffer<Element> {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: max(1, count))
    }

    deinit { base.deallocate() }
}
