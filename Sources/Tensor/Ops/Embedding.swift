/// Table lookup.
extension Tensor {
    /// Rows of `table` [V, C] picked by `ids`; the result is `shape + [C]`.
    ///
    /// Ids must lie in `0..<V` (callers validate user-supplied ids: see ``TensorError``).
    /// The backward scatters into a [V, C] gradient only when the table is trainable.
    public static func embedding(_ table: Tensor, ids: [Int32], shape: [Int]) -> Tensor {
        precondition(table.rank == 2 && shape.reduce(1, *) == ids.count, "embedding: bad table \(table.shape) or ids shape \(shape)")
        let (vocab, width) = (table.shape[0], table.shape[1])
        let out = Tensor.uninitialized(shape + [width])
        let src = table.pointer, dst = out.pointer
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && Int(id) < vocab, "embedding: id \(id) outside 0..<\(vocab)")
            (dst + i * width).update(from: src + Int(id) * width, count: width)
        }
        let tableShape = table.shape
        return record(out, inputs: [table]) { g in
            let r = Tensor.zeros(tableShape)
            for (i, id) in ids.enumerated() {
                let row = r.pointer + Int(id) * width, gr = g.pointer + i * width
                for c in 0..<width { row[c] += gr[c] }
            }
            return [r]
        }
    }
}
