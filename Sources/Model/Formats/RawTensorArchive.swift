import Foundation
import Tensor

/// A weight archive that can also hand out a tensor's stored bytes and element type, for
/// tensors that are not Float32 values (quantized codes, packed JSON).
public protocol RawTensorArchive: WeightArchive {
    /// The stored element type, shape and bytes of tensor `name`.
    func rawTensor(named name: String) throws -> RawTensor
}

/// A tensor's stored form.
public struct RawTensor: Sendable {
    /// Element type.
    public var dtype: SafetensorsDType
    /// Shape, outermost first.
    public var shape: [Int]
    /// The little-endian bytes.
    public var bytes: [UInt8]

    /// Wraps stored parts.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The bytes read as little-endian Float32 values (nil unless the dtype is F32).
    public var float32Values: [Float]? {
        guard dtype == .f32 else { return nil }
        return bytes.withUnsafeBytes { b in
            (0..<(b.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

extension SafetensorsFile: RawTensorArchive {
    public func rawTensor(named name: String) throws -> RawTensor {
        let info = try info(named: name)
        return RawTensor(dtype: info.dtype, shape: info.shape, bytes: try withRawBytes(of: name) { Array($0) })
    }
}

extension ShardedSafetensors: RawTensorArchive {
    public func rawTensor(named name: String) throws -> RawTensor {
        guard let i = owner[name] else { throw WeightLoadError.missingTensor(name) }
        return try files[i].rawTensor(named: name)
    }
}
