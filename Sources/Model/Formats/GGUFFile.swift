import Foundation
import Quant
import Tensor

/// A GGUF model file (versions 2 and 3), memory-mapped: metadata is parsed when the file is
/// opened, tensor data is read on demand.
///
/// A `GGUFFile` is a value; copies share the one read-only mapping, which is released when the
/// last copy goes away.
public struct GGUFFile: Sendable {
    /// Where the file was opened from.
    public let url: URL
    /// GGUF format version (2 or 3).
    public let version: Int
    /// All metadata values by key.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor descriptions in file order.
    public let tensors: [GGUFTensorInfo]
    /// Alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute byte offset of the data section.
    public let dataOffset: Int

    private let mapping: MappedFile
    private let tensorIndex: [String: Int]

    /// Opens and validates the GGUF file at `url`.
    /// - Throws: ``GGUFError`` when the file cannot be read or is malformed.
    public init(contentsOf url: URL) throws {
        let mapping: MappedFile
        do {
            mapping = try MappedFile(url: url)
        } catch .cannotOpen(let code), .cannotMap(let code) {
            throw GGUFError.cannotOpen(path: url.path, reason: MappedFile.message(for: code))
        }
        let header = try GGUFHeader(parsing: mapping.bytes)
        self.url = url
        self.mapping = mapping
        self.version = Int(header.version)
        self.metadata = header.metadata
        self.metadataKeys = header.metadataKeys
        self.tensors = header.tensors
        self.alignment = header.alignment
        self.dataOffset = header.dataOffset
        self.tensorIndex = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    /// Size of the file in bytes.
    public var fileSize: Int { mapping.bytes.count }

    /// The value stored under `key`, or nil.
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// `general.architecture`, e.g. `qwen2`, `llama`, `gpt2`.
    public var architecture: String? { metadata["general.architecture"]?.string }

    /// The value stored under `key`.
    /// - Throws: ``GGUFError/missingKey(_:)``.
    public func value(forKey key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw GGUFError.missingKey(key) }
        return value
    }

    /// The string stored under `key`.
    public func string(forKey key: String) throws -> String {
        guard let v = try value(forKey: key).string else { throw GGUFError.typeMismatch(key: key, expected: "a string") }
        return v
    }

    /// The integer stored under `key` (any GGUF integer type).
    public func int(forKey key: String) throws -> Int {
        guard let v = try value(forKey: key).int else { throw GGUFError.typeMismatch(key: key, expected: "an integer") }
        return v
    }

    /// The number stored under `key` (any GGUF float or integer type).
    public func double(forKey key: String) throws -> Double {
        guard let v = try value(forKey: key).double else { throw GGUFError.typeMismatch(key: key, expected: "a number") }
        return v
    }

    /// The description of tensor `name`.
    /// - Throws: ``GGUFError/missingTensor(_:)``.
    public func tensorInfo(named name: String) throws -> GGUFTensorInfo {
        guard let index = tensorIndex[name] else { throw GGUFError.missingTensor(name) }
        return tensors[index]
    }

    /// Calls `body` with the stored (possibly quantized) bytes of tensor `name`. The buffer is
    /// only valid inside `body`.
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try tensorInfo(named: name)
        return try body(rawBytes(of: info))
    }

    /// Tensor `name` dequantized to Float32, in row-major shape ``GGUFTensorInfo/shape``
    /// (outermost first, as PyTorch/Hugging Face order it). Names are the file's own; see
    /// ``GGUFWeightArchive`` for Hugging Face names and layouts.
    /// - Throws: ``GGUFError/missingTensor(_:)`` or ``GGUFError/dequantization(tensor:reason:)``.
    public func float32(named name: String) throws -> Tensor {
        let info = try tensorInfo(named: name)
        let bytes = rawBytes(of: info)
        defer { mapping.releasePages(of: bytes) }
        return try Tensor.build(info.shape) { buffer in
            guard let base = buffer.baseAddress else { return }
            do {
                try info.type.dequantize(bytes, count: info.elementCount, into: base)
            } catch {
                throw GGUFError.dequantization(tensor: name, reason: "\(error)")
            }
        }
    }

    /// A tensor's bytes with the object that keeps them mapped (for views that outlive this value).
    func retainedRawBytes(of info: GGUFTensorInfo) -> (UnsafeRawBufferPointer, AnyObject) {
        (rawBytes(of: info), mapping)
    }

    /// The bytes of a tensor described by this file (bounds were checked when the file was opened).
    func rawBytes(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + info.offset
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(start + info.byteCount)])
    }
}
