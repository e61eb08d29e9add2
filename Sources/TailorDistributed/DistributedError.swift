import Foundation

/// Failures of a data-parallel run over MPI.
public enum DistributedError: Error, Equatable, CustomStringConvertible {
    /// A collective did not finish in time: another rank died, stalled or is running a different
    /// plan. The communicator is unusable afterwards; end the job (``MPICommunicator/abort(code:)``).
    case timedOut(operation: String, seconds: Double, rank: Int)
    /// MPI returned an error code.
    case mpi(operation: String, code: Int32, message: String)
    /// The communicator cannot be used: an earlier collective failed, or MPI was finalized.
    case unusable(String)
    /// A setting is out of range.
    case invalidSetting(String)

    public var description: String {
        switch self {
        case let .timedOut(operation, seconds, rank):
            return "rank \(rank): \(operation) timed out after \(String(format: "%g", seconds)) s waiting for the other ranks (one died, stalled or runs different settings)"
        case let .mpi(operation, code, message):
            return "MPI error \(code) in \(operation): \(message)"
        case .unusable(let why):
            return "the MPI communicator is unusable: \(why)"
        case .invalidSetting(let s):
            return "invalid distributed setting: \(s)"
        }
    }
}
