import Foundation

/// What the MPI launcher (`mpirun`, `mpiexec`) tells a process through its environment, read
/// without initialising MPI, so a program can decide whether to train data-parallel.
public enum MPILaunch {
    /// Processes in the job: Open MPI's `OMPI_COMM_WORLD_SIZE` or MPICH's `PMI_SIZE`; nil when the
    /// process was not started by an MPI launcher.
    public static var worldSize: Int? {
        value(of: ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"])
    }

    /// This process's rank in the job (`OMPI_COMM_WORLD_RANK` or `PMI_RANK`), if launched by MPI.
    public static var rank: Int? {
        value(of: ["OMPI_COMM_WORLD_RANK", "PMI_RANK"])
    }

    /// Whether the launcher started more than one process.
    public static var isDataParallel: Bool { (worldSize ?? 1) > 1 }

    private static func value(of names: [String]) -> Int? {
        let environment = ProcessInfo.processInfo.environment
        return names.lazy.compactMap { environment[$0].flatMap { Int($0) } }.first
    }
}
