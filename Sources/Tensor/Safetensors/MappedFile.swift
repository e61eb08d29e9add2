import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory; unmapped when the last reference goes away.
///
/// The mapping never changes after `init`, so sharing it between threads is safe.
package final class MappedFile: @unchecked Sendable {
    /// The mapped bytes (empty for an empty file).
    package let bytes: UnsafeRawBufferPointer

    /// Reasons a file cannot be mapped.
    package enum Failure: Error {
        case cannotOpen(errno: Int32)
        case cannotMap(errno: Int32)
    }

    package init(url: URL) throws(Failure) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(errno: EISDIR) }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else { throw .cannotMap(errno: errno) }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    /// Drops the pages behind `region` (a part of ``bytes``) from this process's resident memory,
    /// for a tensor that has just been copied out: the mapping is private and never written, so
    /// its pages are clean, and touching them again reads them back from the page cache. Without
    /// this, loading a model holds the file's pages and the copies at once (peak RSS of weights
    /// plus file). Only whole pages inside the mapping are dropped; the contents never change.
    package func releasePages(of region: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, let start = region.baseAddress, region.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let from = (start - base) / page * page
        let to = min(bytes.count, ((start - base) + region.count + page - 1) / page * page)
        guard from >= 0, to > from else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + from), to - from, Int32(MADV_DONTNEED))
    }

    /// The OS's message for an errno value.
    package static func message(for code: Int32) -> String { String(cString: strerror(code)) }
}
