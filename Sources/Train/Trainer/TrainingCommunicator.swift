import Tensor

/// The replicas of a data-parallel training run, as the ``Trainer`` sees them: every replica
/// holds the whole model, trains on its own share of each step's micro-batches, and the trainer
/// sums gradients, token counts and losses over all replicas before the optimizer step, so N
/// replicas with k micro-batches each take the same steps as one process accumulating N·k.
///
/// The trainer calls the two sums at the same points of every step on every replica, with
/// buffers of the same sizes in the same order; an implementation only has to add them up
/// element-wise over the replicas (an all-reduce) and throw when that cannot finish (a replica
/// died or stalled). ``SingleProcess`` is the default and is never asked to sum; `TailorDistributed`
/// implements the protocol over MPI.
public protocol TrainingCommunicator: AnyObject {
    /// This replica's index, `0..<worldSize`; replica 0 writes checkpoints.
    var rank: Int { get }
    /// Number of replicas (1: an ordinary single-process run).
    var worldSize: Int { get }
    /// Replaces every element by its sum over all replicas (counts, losses, flags).
    func sum(_ values: inout [Double]) throws
    /// Replaces every gradient by its element-wise sum over all replicas; every replica passes
    /// tensors of the same shapes in the same order.
    func sum(_ gradients: inout [Tensor]) throws
}

/// An ordinary run in one process: rank 0 of 1, and nothing to sum.
public final class SingleProcess: TrainingCommunicator {
    /// The single replica.
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func sum(_ values: inout [Double]) throws {}
    public func sum(_ gradients: inout [Tensor]) throws {}
}

/// Errors of a data-parallel run that the replicas detect together.
public enum ReplicaError: Error, Equatable, CustomStringConvertible {
    /// The replicas do not hold the same run: `what` differs between them.
    case replicasDisagree(String)

    public var description: String {
        switch self {
        case .replicasDisagree(let what):
            return "the data-parallel replicas disagree on \(what): start every rank with the same model, adapter, data and settings"
        }
    }
}

extension TrainingCommunicator {
    /// Whether any replica says yes; every replica gets the same answer.
    func anyReplica(_ flag: Bool) throws -> Bool {
        var v = [flag ? 1.0 : 0]
        try sum(&v)
        return v[0] > 0
    }

    /// Throws ``ReplicaError/replicasDisagree(_:)`` on every replica unless all of them pass the
    /// same `values` (exact small integers, e.g. 16-bit pieces of a hash).
    func checkAgreement(_ values: [Double], on what: String) throws {
        var total = values
        try sum(&total)
        let n = Double(worldSize)
        let differs = zip(total, values).contains { $0 != n * $1 }
        if try anyReplica(differs) { throw ReplicaError.replicasDisagree(what) }
    }

    /// The strings every replica that knows them passes (`nil`: this replica does not know them);
    /// all knowing replicas must pass the same list. Empty when no replica knows.
    func agree(on strings: [String]?) throws -> [String] {
        let bytes = strings.map { Array($0.joined(separator: "\n").utf8) }
        var header = [bytes == nil ? 0 : 1, Double(bytes?.count ?? 0)]
        try sum(&header)
        guard header[0] > 0 else { return [] }
        let length = Int(header[1] / header[0])
        var values = (0..<length).map { i in bytes.map { i < $0.count ? Double($0[i]) : 0 } ?? 0 }
        try sum(&values)
        let text = String(decoding: values.map { UInt8(clamping: Int(($0 / header[0]).rounded())) }, as: UTF8.self)
        return text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}

extension Trainer {
    /// Host decisions must be the same on every replica: stop when any replica's host says so.
    func agreedControl(_ control: TrainingControl) throws -> TrainingControl {
        guard communicator.worldSize > 1 else { return control }
        return try communicator.anyReplica(control == .stop) ? .stop : .proceed
    }

    /// Checks, before the first step, that every replica runs the same plan on the same weights.
    func checkReplicas(stepsPerEpoch: Int, totalSteps: Int) throws {
        guard communicator.worldSize > 1 else { return }
        try communicator.checkAgreement([Double(stepsPerEpoch), Double(totalSteps), Double(step)], on: "the training plan (micro-batches per epoch, steps)")
        var hash = Hash64()
        for (name, p) in trainableParameters {
            hash.add(Array(name.utf8))
            p.value.withUnsafeBufferPointer { hash.add($0) }
        }
        try communicator.checkAgreement(hash.pieces, on: "the trainable parameters")
    }

    /// Evaluation over the replicas: each scores every worldSize-th batch from its rank on, and
    /// the summed losses, targets and hits give the scores of the whole set.
    func shardedScores(_ data: any TrainingBatches) throws -> TeacherForcedScores {
        let (replicas, rank) = (communicator.worldSize, communicator.rank)
        let all = data.batches(epoch: 0, seed: configuration.seed)
        let mine = all.indices.filter { $0 % replicas == rank }.map { all[$0] }
        let own = try TeacherForcedEvaluator.sums(model, on: mine)
        var values = [own.nll, Double(own.targets), Double(own.correct)]
        try communicator.sum(&values)
        return try TeacherForcedEvaluator.scores(of: (values[0], Int(values[1]), Int(values[2])))
    }

    /// Sums the step's gradients over the replicas. Every replica passes every trainable
    /// parameter (zeros where it has no gradient); a parameter keeps a gradient only where at
    /// least one replica had one, as in a single process.
    func reduce(_ gradients: inout [String: Tensor], parameters: [(name: String, parameter: Parameter)],
                scalars: inout [Double]) throws {
        let present = parameters.map { gradients[$0.name] == nil ? 0.0 : 1 }
        var values = scalars + present
        try communicator.sum(&values)
        scalars = Array(values.prefix(scalars.count))
        var flat = parameters.map { gradients[$0.name] ?? Tensor.zeros($0.parameter.shape) }
        try communicator.sum(&flat)
        gradients = [:]
        for (i, (name, _)) in parameters.enumerated() where values[scalars.count + i] > 0 { gradients[name] = flat[i] }
    }
}

/// FNV-1a over bytes, reported as four exact 16-bit pieces (for ``TrainingCommunicator/checkAgreement(_:on:)``).
struct Hash64 {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for b in bytes { state = (state ^ UInt64(b)) &* 0x100_0000_01b3 }
    }

    /// Mixes in the bit patterns of `values`, a word at a time.
    mutating func add(_ values: UnsafeBufferPointer<Float>) {
        for v in values { state = (state ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 }
    }

    var pieces: [Double] { (0..<4).map { Double((state >> (16 * UInt64($0))) & 0xffff) } }
}
