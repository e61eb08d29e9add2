/// A frozen [rows, columns] matrix kept in a compact format that decodes rows to Float32 on
/// demand — what the quantized linear op multiplies by (GGML blocks, bitsandbytes NF4/FP4, INT8).
public protocol RowDecodableMatrix: Sendable {
    /// Rows (output features).
    var rows: Int { get }
    /// Columns (input features).
    var columns: Int { get }
    /// Decodes rows `range` into `output` ([range.count, columns], row-major), on this thread.
    func decodeRows(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>)
}

extension QuantizedMatrix: RowDecodableMatrix {
    public func decodeRows(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>) { dequantizeRows(range, into: output) }
}

extension FourBitMatrix: RowDecodableMatrix {
    public func decodeRows(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>) { dequantize(rows: range, into: output) }
}

extension Int8Matrix: RowDecodableMatrix {
    public func decodeRows(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>) { dequantize(rows: range, into: output) }
}
