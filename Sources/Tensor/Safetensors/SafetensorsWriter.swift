import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes tensors to a safetensors file.
public enum SafetensorsWriter {
    /// Writes `tensors` (in name order) to `url`, stored as `dtype` (F32, F16 or BF16; narrowing
    /// rounds to nearest even), with an optional `__metadata__` map.
    ///
    /// The file is written to a temporary file in the destination directory and renamed into
    /// place, so readers never see a partial file and a failed write leaves the old file intact.
    /// - Throws: ``SafetensorsError/invalidInput(_:)`` for an unsupported dtype or a reserved or
    ///   empty name, ``SafetensorsError/cannotWrite(path:reason:)`` on I/O failure.
    public static func write(_ tensors: [String: Tensor], to url: URL, dtype: SafetensorsDType = .f32,
                             metadata: [String: String] = [:]) throws {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw SafetensorsError.invalidInput("dtype \(dtype.rawValue) is not writable (use F32, F16 or BF16)")
        }
        let entries = tensors.sorted { $0.key < $1.key }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in entries {
            guard !name.isEmpty, name != "__metadata__" else {
                throw SafetensorsError.invalidInput("tensor name \"\(name)\" is reserved or empty")
            }
            let size = tensor.count * dtype.size
            header[name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

        do {
            let file = try AtomicFile(destination: url)
            do {
                var length = UInt64(json.count).littleEndian
                try withUnsafeBytes(of: &length) { try file.write($0) }
                try json.withUnsafeBytes { try file.write($0) }
                for (_, tensor) in entries {
                    try tensor.withUnsafeBufferPointer { try writeValues($0, as: dtype, to: file) }
                }
                try file.commit()
            } catch {
                file.abandon()
                throw error
            }
        } catch let failure as AtomicFile.Failure {
            throw SafetensorsError.cannotWrite(path: failure.path, reason: failure.reason)
        }
    }

    /// Writes `values` converted to `dtype`, a bounded chunk at a time.
    private static func writeValues(_ values: UnsafeBufferPointer<Float>, as dtype: SafetensorsDType,
                                    to file: AtomicFile) throws {
        if dtype == .f32 {
            try file.write(UnsafeRawBufferPointer(values))
            return
        }
        let chunk = 1 << 16
        var converted = [UInt16](repeating: 0, count: min(chunk, values.count))
        var start = 0
        while start < values.count {
            let n = min(chunk, values.count - start)
            for i in 0..<n {
                let x = values[start + i]
                converted[i] = dtype == .f16 ? Float16(x).bitPattern : bfloat16Bits(x)
            }
            try converted.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<(2 * n)])) }
            start += n
        }
    }

    /// Rounds to the nearest bfloat16 (ties to even), as PyTorch does; NaN becomes the canonical
    /// quiet NaN 0x7FC0.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let bits = x.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
