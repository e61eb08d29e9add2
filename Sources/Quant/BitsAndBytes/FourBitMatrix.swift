/// A frozen [rows, columns] Float32 matrix in bitsandbytes' 4-bit format (NF4 or FP4), as
/// `bitsandbytes.functional.quantize_4bit` makes it and transformers saves it:
///
/// - the matrix is flattened row-major and cut into blocks of `blockSize` elements (the last
///   block may be short; blocks may straddle rows);
/// - each element is divided by its block's absolute maximum and rounded to the nearest of the
///   16 code values; two codes share a byte, the even element in the high nibble;
/// - the per-block absmax are kept as Float32, or — double quantization — minus their mean
///   (`offset`) and blockwise quantized to 8 bits with the signed dynamic map.
///
/// Quantizing gives the same bytes as bitsandbytes 0.50 on the CPU, and ``dequantize(rows:into:)``
/// the same Float32 values as `dequantize_4bit`.
public struct FourBitMatrix: Sendable {
    /// Code table.
    public let type: FourBitType
    /// Rows (output features).
    public let rows: Int
    /// Columns (input features).
    public let columns: Int
    /// Elements per block.
    public let blockSize: Int
    /// Packed codes, ⌈rows·columns / 2⌉ bytes.
    public let packed: [UInt8]
    /// The per-block scales as stored.
    public let scales: Scales
    /// The per-block absmax as Float32 (decoded from ``scales``).
    public let absmax: [Float]

    /// How the per-block absmax are stored.
    public enum Scales: Sendable, Equatable {
        /// One Float32 per block.
        case plain([Float])
        /// Double quantization: 8-bit codes with their own blockwise absmax, code and offset.
        case nested(NestedScales)
    }

    /// Double-quantized absmax: absmax[i] = map[codes[i]] · nestedAbsmax[i / blockSize] + offset.
    public struct NestedScales: Sendable, Equatable {
        /// One 8-bit code per 4-bit block.
        public var codes: [UInt8]
        /// One Float32 scale per `blockSize` codes.
        public var absmax: [Float]
        /// The 256-value code (the signed dynamic map).
        public var map: [Float]
        /// Codes per nested block (256).
        public var blockSize: Int
        /// The mean subtracted before quantizing.
        public var offset: Float

        /// Wraps stored parts (checked by ``FourBitMatrix``'s initializer).
        public init(codes: [UInt8], absmax: [Float], map: [Float], blockSize: Int, offset: Float) {
            self.codes = codes
            self.absmax = absmax
            self.map = map
            self.blockSize = blockSize
            self.offset = offset
        }

        /// The Float32 absmax, computed as bitsandbytes does (product, then the offset added).
        func decoded() -> [Float] {
            codes.indices.map { i in
                let scaled = map[Int(codes[i])] * absmax[i / blockSize]
                return scaled + offset
            }
        }
    }

    /// The block sizes bitsandbytes accepts.
    public static let blockSizes = [32, 64, 128, 256, 512, 1024, 2048, 4096]

    /// Number of elements.
    public var count: Int { rows * columns }
    /// Number of 4-bit blocks.
    public var blockCount: Int { (count + blockSize - 1) / blockSize }
    /// Bytes held by the codes and scales.
    public var byteCount: Int {
        switch scales {
        case .plain(let a): return packed.count + 4 * a.count
        case .nested(let s): return packed.count + s.codes.count + 4 * (s.absmax.count + s.map.count + 1)
        }
    }

    /// Wraps stored parts, checking that every count fits the shape.
    /// - Throws: ``QuantizationStateError`` naming `name`.
    public init(type: FourBitType, rows: Int, columns: Int, blockSize: Int, packed: [UInt8], scales: Scales, name: String = "") throws {
        guard rows > 0, columns > 0, rows <= Int(Int32.max), columns <= Int(Int32.max) else {
            throw QuantizationStateError.invalidShape(tensor: name, shape: [rows, columns])
        }
        guard Self.blockSizes.contains(blockSize) else { throw QuantizationStateError.invalidBlockSize(tensor: name, blockSize: blockSize) }
        let n = rows * columns, blocks = (n + blockSize - 1) / blockSize
        guard packed.count == (n + 1) / 2 else {
            throw QuantizationStateError.wrongCount(tensor: name, part: "packed weight", expected: (n + 1) / 2, actual: packed.count)
        }
        switch scales {
        case .plain(let a):
            guard a.count == blocks else { throw QuantizationStateError.wrongCount(tensor: name, part: "absmax", expected: blocks, actual: a.count) }
            absmax = a
        case .nested(let s):
            guard s.codes.count == blocks else { throw QuantizationStateError.wrongCount(tensor: name, part: "absmax", expected: blocks, actual: s.codes.count) }
            guard s.blockSize > 0, s.blockSize <= 1 << 20 else {
                throw QuantizationStateError.invalidState(tensor: name, reason: "nested blocksize \(s.blockSize)")
            }
            let nestedBlocks = (blocks + s.blockSize - 1) / s.blockSize
            guard s.absmax.count == nestedBlocks else {
                throw QuantizationStateError.wrongCount(tensor: name, part: "nested_absmax", expected: nestedBlocks, actual: s.absmax.count)
            }
            guard s.map.count == 256 else { throw QuantizationStateError.wrongCount(tensor: name, part: "nested_quant_map", expected: 256, actual: s.map.count) }
            absmax = s.decoded()
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.blockSize = blockSize
        self.packed = packed
        self.scales = scales
    }

    /// Quantizes `values` ([rows, columns], row-major) as `quantize_4bit(…, blocksize:,
    /// quant_type:, compress_statistics: doubleQuantize)`.
    /// - Throws: ``QuantizationStateError`` for a bad shape or blocksize.
    public init(quantizing values: [Float], rows: Int, columns: Int, type: FourBitType = .nf4,
                blockSize: Int = 64, doubleQuantize: Bool = true, name: String = "") throws {
        guard rows > 0, columns > 0, values.count == rows * columns else {
            throw QuantizationStateError.invalidShape(tensor: name, shape: [rows, columns])
        }
        guard Self.blockSizes.contains(blockSize) else { throw QuantizationStateError.invalidBlockSize(tensor: name, blockSize: blockSize) }
        let (packed, absmax) = Self.quantizeCodes(values, type: type, blockSize: blockSize)
        let scales: Scales
        if doubleQuantize {
            let offset = TorchFloatSum.mean(absmax)
            let centered = absmax.map { $0 - offset }
            let map = DynamicQuantizationMap.signed
            let (codes, nested) = BlockwiseQuantization.quantize(centered, code: map, blockSize: 256)
            scales = .nested(NestedScales(codes: codes, absmax: nested, map: map, blockSize: 256, offset: offset))
        } else {
            scales = .plain(absmax)
        }
        try self.init(type: type, rows: rows, columns: columns, blockSize: blockSize, packed: packed, scales: scales, name: name)
    }

    /// The packed codes and Float32 absmax of bitsandbytes' 4-bit quantizer: full blocks scale
    /// by the reciprocal of their absmax (clamped to 1e-38), a short last block divides by its
    /// clamped absmax; then clamp to [-1, 1] and bucket by the code midpoints. An odd count is
    /// padded with a zero.
    static func quantizeCodes(_ x: [Float], type: FourBitType, blockSize: Int) -> (packed: [UInt8], absmax: [Float]) {
        let n = x.count, full = n / blockSize, blocks = (n + blockSize - 1) / blockSize
        let bounds = type.bucketBounds, order = type.codesByValue
        var absmax = [Float](repeating: 0, count: blocks)
        var codes = [UInt8](repeating: 0, count: n + n % 2)
        func bucket(_ v: Float) -> UInt8 {
            var i = 0
            while i < bounds.count && bounds[i] < v { i += 1 }
            return order[i]
        }
        let tiny: Float = 1e-38
        for b in 0..<blocks {
            let range = (b * blockSize)..<min(n, (b + 1) * blockSize)
            var m: Float = 0
            for i in range { m = Swift.max(m, abs(x[i])) }
            if b < full {
                absmax[b] = m
                let inverse = 1 / Swift.max(m, tiny)
                for i in range { codes[i] = bucket(Swift.min(1, Swift.max(-1, x[i] * inverse))) }
            } else {
                let clamped = Swift.max(m, tiny)
                absmax[b] = clamped
                for i in range { codes[i] = bucket(Swift.min(1, Swift.max(-1, x[i] / clamped))) }
            }
        }
        if n % 2 == 1 { codes[n] = bucket(0) }
        let packed = (0..<(codes.count / 2)).map { (codes[2 * $0] << 4) | codes[2 * $0 + 1] }
        return (packed, absmax)
    }

    /// Decodes rows `range` into `output` ([range.count, columns], row-major):
    /// code[q] · absmax[block] for every element.
    public func dequantize(rows range: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        let code = type.codeValues
        code.withUnsafeBufferPointer { code in
            packed.withUnsafeBufferPointer { packed in
                absmax.withUnsafeBufferPointer { absmax in
                    let start = range.lowerBound * columns, end = range.upperBound * columns
                    var e = start
                    while e < end {
                        // One block (or the part of it inside the range) at a time.
                        let block = e / blockSize, blockEnd = Swift.min(end, (block + 1) * blockSize)
                        let scale = absmax[block]
                        while e < blockEnd {
                            let byte = packed[e >> 1]
                            let q = e & 1 == 0 ? byte >> 4 : byte & 0x0F
                            output[e - start] = code[Int(q)] * scale
                            e += 1
                        }
                    }
                }
            }
        }
    }

    /// The whole matrix as Float32 values, row-major.
    public func dequantized() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            dequantize(rows: 0..<rows, into: buffer.baseAddress!)
            initialized = count
        }
    }
}
