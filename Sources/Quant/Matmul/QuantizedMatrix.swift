import Foundation
import Tensor

/// A frozen [rows, columns] weight matrix kept in a GGML block format (Q8_0, Q5_0, Q4_K, Q6_K, …),
/// row-major with each row a whole number of blocks — as GGUF files store linear weights ([Out, In]).
///
/// The bytes are usually a view into a memory-mapped model file (`owner` keeps the mapping alive),
/// so a quantized model costs its file size in memory instead of four bytes per weight. Rows are
/// decoded on demand, tile by tile, by the quantized linear op.
public struct QuantizedMatrix: @unchecked Sendable {
    /// Storage format.
    public let type: GGMLType
    /// Number of rows (output features).
    public let rows: Int
    /// Number of columns (input features).
    public let columns: Int
    /// Bytes of one row.
    public let rowBytes: Int
    let base: UnsafeRawPointer
    let owner: AnyObject

    /// Wraps `bytes` (at least rows × row size) kept alive by `owner`; throws when the columns are
    /// not a whole number of blocks or the buffer is too small.
    public init(type: GGMLType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject) throws {
        guard rows > 0, let rowBytes = type.byteCount(forValues: columns) else {
            throw GGMLError.countNotBlockMultiple(type: type, count: columns)
        }
        guard let base = bytes.baseAddress, bytes.count >= rows * rowBytes else {
            throw GGMLError.bufferTooSmall(type: type, needed: rows * rowBytes, available: bytes.count)
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowBytes = rowBytes
        self.base = base
        self.owner = owner
    }

    /// A matrix owning a copy of `bytes`.
    public init(type: GGMLType, rows: Int, columns: Int, copying bytes: [UInt8]) throws {
        let box = ByteBox(bytes)
        try self.init(type: type, rows: rows, columns: columns,
                      bytes: UnsafeRawBufferPointer(start: box.pointer, count: bytes.count), owner: box)
    }

    /// Decodes rows `range` into `output` ([range.count, columns], row-major), on this thread.
    public func dequantizeRows(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        type.decodeBlocks(base + range.lowerBound * rowBytes, output, blocks: range.count * columns / type.blockSize)
    }

    /// The whole matrix as a Float32 tensor [rows, columns].
    public func dequantized() -> Tensor {
        Tensor.build([rows, columns]) { out in
            Parallel.forRanges(rows, minimumChunk: 64) { r in dequantizeRows(r, into: out.baseAddress! + r.lowerBound * columns) }
        }
    }

    /// Calls `body` with the stored blocks (``byteCount`` bytes, rows of ``rowBytes``).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: byteCount))
    }

    /// Bytes held (the file size of the weights).
    public var byteCount: Int { rows * rowBytes }

    /// Drops this matrix's pages from the process's resident memory when it is a view into a mapped
    /// file, for a matrix that has just been converted to another format; reading it again faults
    /// the unchanged bytes back in from the page cache.
    public func releaseResidentPages() {
        (owner as? MappedFile)?.releasePages(of: UnsafeRawBufferPointer(start: base, count: byteCount))
    }
}

/// Owned bytes for matrices built in memory.
private final class ByteBox {
    let pointer: UnsafeMutableRawPointer
    init(_ bytes: [UInt8]) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 64)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }
    deinit { pointer.deallocate() }
}
