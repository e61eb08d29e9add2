/// A frozen [rows, columns] matrix in LLM.int8's weight format, as bitsandbytes'
/// `int8_vectorwise_quant` makes it and transformers saves it (`weight` int8, `SCB`): each row
/// scaled by 127 / its absolute maximum and rounded half to even.
public struct Int8Matrix: Sendable {
    /// Rows (output features).
    public let rows: Int
    /// Columns (input features).
    public let columns: Int
    /// The int8 codes, row-major.
    public let codes: [Int8]
    /// Per-row absolute maxima (`SCB`).
    public let rowScales: [Float]

    /// Wraps stored parts, checking their counts.
    /// - Throws: ``QuantizationStateError`` naming `name`.
    public init(rows: Int, columns: Int, codes: [Int8], rowScales: [Float], name: String = "") throws {
        guard rows > 0, columns > 0, rows <= Int(Int32.max), columns <= Int(Int32.max) else {
            throw QuantizationStateError.invalidShape(tensor: name, shape: [rows, columns])
        }
        guard codes.count == rows * columns else {
            throw QuantizationStateError.wrongCount(tensor: name, part: "weight", expected: rows * columns, actual: codes.count)
        }
        guard rowScales.count == rows else {
            throw QuantizationStateError.wrongCount(tensor: name, part: "SCB", expected: rows, actual: rowScales.count)
        }
        self.rows = rows
        self.columns = columns
        self.codes = codes
        self.rowScales = rowScales
    }

    /// Quantizes `values` ([rows, columns], row-major) as `int8_vectorwise_quant` (threshold 0):
    /// round(x · ((1 / absmax) · 127)); an all-zero row gives zero codes.
    public init(quantizing values: [Float], rows: Int, columns: Int, name: String = "") throws {
        guard rows > 0, columns > 0, values.count == rows * columns else {
            throw QuantizationStateError.invalidShape(tensor: name, shape: [rows, columns])
        }
        var codes = [Int8](repeating: 0, count: values.count)
        var scales = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = (r * columns)..<((r + 1) * columns)
            var m: Float = 0
            for i in row { m = Swift.max(m, abs(values[i])) }
            scales[r] = m
            guard m > 0 else { continue }
            let scale = (1 / m) * 127
            for i in row {
                let q = (values[i] * scale).rounded(.toNearestOrEven)
                codes[i] = Int8(Swift.max(-128, Swift.min(127, q)))
            }
        }
        try self.init(rows: rows, columns: columns, codes: codes, rowScales: scales, name: name)
    }

    /// Bytes held.
    public var byteCount: Int { codes.count + 4 * rowScales.count }

    /// Decodes rows `range` into `output` as `int8_vectorwise_dequant`: q · SCB · (1/127).
    public func dequantize(rows range: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        let inverse127: Float = 7.874015718698502e-3
        codes.withUnsafeBufferPointer { codes in
            var o = 0
            for r in range {
                let s = rowScales[r]
                for i in (r * columns)..<((r + 1) * columns) {
                    output[o] = Float(codes[i]) * s * inverse127
                    o += 1
                }
            }
        }
    }

    /// The whole matrix as Float32 values, row-major.
    public func dequantized() -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
            dequantize(rows: 0..<rows, into: buffer.baseAddress!)
            initialized = rows * columns
        }
    }
}
