import Foundation
import TailorDistributed

/// `tailor finetune` under an MPI launcher (`mpirun -np N tailor finetune …`): the launcher's
/// environment turns on data parallelism over MPI; without it the command runs in one process and
/// never initialises MPI.
enum DataParallel {
    /// The job's communicator when the launcher started more than one process, else nil.
    static func join(timeout: Double?) throws -> MPICommunicator? {
        if let timeout, !(timeout > 0 && timeout.isFinite) { throw CLIError("--collective-timeout must be a positive number of seconds") }
        guard MPILaunch.isDataParallel else { return nil }
        let communicator = try MPICommunicator(timeout: .seconds(timeout ?? 600))
        log("data-parallel: rank \(communicator.rank) of \(communicator.worldSize) (pid \(getpid()))")
        return communicator
    }

    /// "data-parallel: 2 ranks; …": the time this rank spent in sums and how much it summed.
    static func summary(of communicator: MPICommunicator) -> String {
        let c = communicator.collectiveTime.components
        return String(format: "data-parallel: %d ranks; rank %d spent %.2f s in collectives (transfer and waiting for slower ranks), %.1f MB summed",
                      communicator.worldSize, communicator.rank, Double(c.seconds) + Double(c.attoseconds) / 1e18,
                      Double(communicator.reducedBytes) / 1e6)
    }

    /// Reports `error` as this rank's one `error:` line and ends the whole job, so no other rank is
    /// left waiting for this one.
    static func fail(_ error: any Error, on communicator: MPICommunicator) -> Never {
        let message = TailorCommand.message(for: error)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        FileHandle.standardError.write(Data("error: rank \(communicator.rank): \(message)\n".utf8))
        communicator.abort(code: 1)
    }
}
