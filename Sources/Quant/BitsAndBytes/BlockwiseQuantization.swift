/// bitsandbytes' blockwise 8-bit quantization against a sorted 256-value code (the CPU kernel
/// behind `quantize_blockwise` / `dequantize_blockwise` in 0.50): each block of `blockSize`
/// elements (the last may be short) is multiplied by the reciprocal of its absolute maximum,
/// and the result is rounded through a 65536-entry table of [-1, 1] to the nearest code value
/// (nearest for the table's grid point, which can differ from the exact nearest very close to a
/// midpoint — as in bitsandbytes). An all-zero block gets code 0.
public enum BlockwiseQuantization {
    /// Grid points of the lookup table over [-1, 1].
    static let tableSize = 65536

    /// The lookup table of the signed dynamic map, built once.
    static let signedTable = lookupTable(for: DynamicQuantizationMap.signed)
    /// The lookup table of the unsigned dynamic map, built once.
    static let unsignedTable = lookupTable(for: DynamicQuantizationMap.unsigned)

    /// Codes and per-block absmax of `values`; `code` must hold 256 sorted values.
    public static func quantize(_ values: [Float], code: [Float], blockSize: Int) -> (codes: [UInt8], absmax: [Float]) {
        precondition(code.count == 256 && blockSize > 0, "blockwise quantization needs a 256-value code")
        let quantizer = BlockQuantizer(code: code)
        let n = values.count, blocks = (n + blockSize - 1) / blockSize
        var codes = [UInt8](repeating: 0, count: n)
        var absmax = [Float](repeating: 0, count: blocks)
        values.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for b in 0..<blocks {
                    let lo = b * blockSize, count = min(n, lo + blockSize) - lo
                    absmax[b] = quantizer.quantize(v.baseAddress! + lo, count: count, into: c.baseAddress! + lo)
                }
            }
        }
        return (codes, absmax)
    }

    /// code[codes[i]] × absmax[i / blockSize].
    public static func dequantize(codes: [UInt8], absmax: [Float], code: [Float], blockSize: Int) -> [Float] {
        codes.indices.map { code[Int(codes[$0])] * absmax[$0 / blockSize] }
    }

    /// The grid point of a normalized value: ((clamp(v) + 1) · 0.5) · 65535 + 0.5, truncated.
    static func tableIndex(_ v: Float) -> Int {
        let clamped = Swift.min(1, Swift.max(-1, v))
        let scaled = ((clamped + 1) * 0.5) * Float(tableSize - 1)
        return Int(scaled + 0.5)
    }

    /// For each grid point −1 + 2i/65535, the first code whose upper midpoint is not below it.
    static func lookupTable(for code: [Float]) -> [UInt8] {
        let midpoints = (0..<(code.count - 1)).map { 0.5 * (code[$0] + code[$0 + 1]) }
        var table = [UInt8](repeating: 0, count: tableSize)
        var c = 0
        for i in 0..<tableSize {
            let v: Float = -1 + (2 * Float(i)) / Float(tableSize - 1)
            while c < midpoints.count && midpoints[c] < v { c += 1 }
            table[i] = UInt8(c)
        }
        return table
    }
}

/// Quantizes one block at a time against a 256-value code, as ``BlockwiseQuantization/quantize(_:code:blockSize:)``
/// does for a whole array: for code that updates blockwise state in place (``AdamW8bit``).
public struct BlockQuantizer: Sendable {
    /// The 256 sorted code values.
    public let code: [Float]
    /// For each of 65536 grid points −1 + 2i/65535, the code index it rounds to.
    public let table: [UInt8]

    /// A quantizer for `code` (256 sorted values); the dynamic maps' tables are shared.
    public init(code: [Float]) {
        precondition(code.count == 256, "blockwise quantization needs a 256-value code")
        self.code = code
        table = code == DynamicQuantizationMap.signed ? BlockwiseQuantization.signedTable
            : code == DynamicQuantizationMap.unsigned ? BlockwiseQuantization.unsignedTable
            : BlockwiseQuantization.lookupTable(for: code)
    }

    /// Writes the codes of `count` values to `codes` and returns their absmax (NaN-ignoring, as
    /// bitsandbytes); an all-zero block gets code 0.
    public func quantize(_ values: UnsafePointer<Float>, count: Int, into codes: UnsafeMutablePointer<UInt8>) -> Float {
        var m: Float = 0
        for i in 0..<count { m = Swift.max(m, abs(values[i])) }
        guard m != 0 else { codes.update(repeating: 0, count: count); return 0 }
        let inverse = 1 / m
        table.withUnsafeBufferPointer { t in
            for i in 0..<count { codes[i] = t[BlockwiseQuantization.tableIndex(values[i] * inverse)] }
        }
        return m
    }
}
