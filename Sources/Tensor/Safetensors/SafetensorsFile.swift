import Foundation

/// A safetensors file, memory-mapped; the header is validated when the file is opened (no
/// overlapping or missing bytes, shapes consistent with byte ranges), tensor data is read on
/// demand.
///
/// A value: copies share the one read-only mapping, released with the last copy.
public struct SafetensorsFile: Sendable {
    /// Where the file was opened from.
    public let url: URL
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// Tensor descriptions in data order.
    public let tensors: [SafetensorsTensorInfo]

    private let mapping: MappedFile
    private let dataOffset: Int
    private let index: [String: Int]

    /// Opens and validates the safetensors file at `url`.
    /// - Throws: ``SafetensorsError``.
    public init(contentsOf url: URL) throws {
        let mapping: MappedFile
        do {
            mapping = try MappedFile(url: url)
        } catch .cannotOpen(let code), .cannotMap(let code) {
            throw SafetensorsError.cannotOpen(path: url.path, reason: MappedFile.message(for: code))
        }
        let header = try SafetensorsHeader(parsing: mapping.bytes)
        self.url = url
        self.mapping = mapping
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.dataOffset = header.dataOffset
        self.index = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    /// The description of tensor `name`.
    /// - Throws: ``SafetensorsError/missingTensor(_:)``.
    public func info(named name: String) throws -> SafetensorsTensorInfo {
        guard let i = index[name] else { throw SafetensorsError.missingTensor(name) }
        return tensors[i]
    }

    /// Calls `body` with the stored bytes of tensor `name` (valid only inside `body`).
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(bytes(of: try info(named: name)))
    }

    private func bytes(of info: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        let range = (dataOffset + info.dataRange.lowerBound)..<(dataOffset + info.dataRange.upperBound)
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[range])
    }
}

extension SafetensorsFile {
    /// Tensor names in data order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// Shape of tensor `name`, outermost first.
    public func shape(of name: String) throws -> [Int] { try info(named: name).shape }

    /// Tensor `name` converted to Float32 (from F32, F16 or BF16).
    /// - Throws: ``SafetensorsError/missingTensor(_:)`` or ``SafetensorsError/unsupportedDType(tensor:dtype:)``.
    public func tensor(named name: String) throws -> Tensor {
        let info = try info(named: name)
        guard [.f32, .f16, .bf16].contains(info.dtype) else {
            throw SafetensorsError.unsupportedDType(tensor: name, dtype: info.dtype)
        }
        let source = bytes(of: info)
        defer { mapping.releasePages(of: source) }
        return Tensor.build(info.shape) { buffer in
            guard let base = buffer.baseAddress, let bytes = source.baseAddress, !buffer.isEmpty else { return }
            switch info.dtype {
            case .f16:
                for i in 0..<buffer.count { base[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<buffer.count { base[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
            default:
                UnsafeMutableRawPointer(base).copyMemory(from: bytes, byteCount: buffer.count * 4)
            }
        }
    }

    /// The values of an I32 tensor `name`.
    /// - Throws: ``SafetensorsError/missingTensor(_:)`` or ``SafetensorsError/unsupportedDType(tensor:dtype:)``.
    public func int32Values(named name: String) throws -> [Int32] {
        let info = try info(named: name)
        guard info.dtype == .i32 else { throw SafetensorsError.unsupportedDType(tensor: name, dtype: info.dtype) }
        let source = bytes(of: info)
        return (0..<(source.count / 4)).map { source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
    }
}
