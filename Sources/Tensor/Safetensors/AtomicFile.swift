import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary file next to `destination` that becomes `destination` on ``commit()``, so readers
/// never see a partial file and a failed write leaves the old file intact. Shared by the
/// safetensors and GGUF writers, which turn ``Failure`` into their own error types.
package final class AtomicFile {
    /// A failed system call, with the destination and the C library's message.
    package struct Failure: Error {
        package let path: String
        package let reason: String
    }

    package let destination: URL
    package let temporaryPath: String
    private var fd: Int32

    package init(destination: URL) throws(Failure) {
        self.destination = destination
        let directory = destination.deletingLastPathComponent().path
        temporaryPath = directory + "/.\(destination.lastPathComponent).\(UUID().uuidString).tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure(destination.path) }
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        guard var next = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, next, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure(destination.path)
            }
            next += n
            left -= n
        }
    }

    package func commit() throws(Failure) {
        guard fsync(fd) == 0 else { throw Self.failure(destination.path) }
        let closed = close(fd)
        fd = -1
        guard closed == 0, rename(temporaryPath, destination.path) == 0 else { throw Self.failure(destination.path) }
    }

    package func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }

    private static func failure(_ path: String) -> Failure {
        Failure(path: path, reason: String(cString: strerror(errno)))
    }
}

/// The C library's `write`, named so the method above does not shadow it.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
