/// A batch of token sequences laid out row-major as `[batchSize, sequenceLength]`.
///
/// Rows are right-padded with the pad token; padded positions have label −100, attention mask 0,
/// position id 0 and sequence id 0. Labels follow ``TokenizedExample``'s convention: aligned with
/// the inputs, not shifted — the logits at position `t` are scored against `labels[t + 1]`.
///
/// In a packed batch a row holds several examples back to back. Each example's first position
/// has label −100, so no loss term asks the model to predict one example from the previous one.
/// `positionIDs` restart at 0 for every example and `sequenceIDs` number the examples of a row
/// from 1; a model that honours them attends only within an example (block-diagonal causal
/// mask). With a plain causal mask, attention does cross example boundaries inside a row.
public struct Batch: Sendable, Hashable {
    /// Number of rows (B).
    public let batchSize: Int
    /// Tokens per row, including padding (T).
    public let sequenceLength: Int
    /// Token ids, B×T row-major.
    public let inputIDs: [Int32]
    /// Targets, B×T row-major; −100 where no loss is taken.
    public let labels: [Int32]
    /// 1 for real tokens, 0 for padding, B×T row-major.
    public let attentionMask: [Int32]
    /// Position of each token within its own example, B×T row-major.
    public let positionIDs: [Int32]
    /// 1-based index of the example a token belongs to within its row (0 for padding), B×T.
    public let sequenceIDs: [Int32]
    /// Real (non-padding) tokens per row.
    public let lengths: [Int]
    /// Number of examples in the batch (more than `batchSize` when packed).
    public let exampleCount: Int
    /// Number of labels that are not −100: the number of terms in this batch's loss. Divide the
    /// summed token losses of all micro-batches in a gradient-accumulation step by the sum of
    /// their counts to weight every target token equally.
    public let targetTokenCount: Int
    /// Whether rows hold several examples.
    public let isPacked: Bool

    /// Lays out `rows` (each a list of examples placed back to back) padded to the longest row,
    /// rounded up to a multiple of `padToMultipleOf`.
    init(rows: [[TokenizedExample]], padTokenID: Int32, padToMultipleOf: Int, isPacked: Bool) {
        let longest = rows.map { $0.reduce(0) { $0 + $1.count } }.max() ?? 0
        let multiple = max(padToMultipleOf, 1)
        let length = (longest + multiple - 1) / multiple * multiple
        let total = rows.count * length
        var inputs = [Int32](repeating: padTokenID, count: total)
        var labels = [Int32](repeating: TokenizedExample.ignoreIndex, count: total)
        var mask = [Int32](repeating: 0, count: total)
        var positions = [Int32](repeating: 0, count: total)
        var sequences = [Int32](repeating: 0, count: total)
        var lengths: [Int] = []
        var targets = 0
        var examples = 0
        inputs.withUnsafeMutableBufferPointer { inputs in
            labels.withUnsafeMutableBufferPointer { labels in
                for (r, row) in rows.enumerated() {
                    var t = r * length
                    for (s, example) in row.enumerated() {
                        examples += 1
                        example.inputIDs.withUnsafeBufferPointer { ids in
                            example.labels.withUnsafeBufferPointer { exampleLabels in
                                for i in 0..<ids.count {
                                    inputs[t + i] = ids[i]
                                    let label = i == 0 ? TokenizedExample.ignoreIndex : exampleLabels[i]
                                    labels[t + i] = label
                                    if label != TokenizedExample.ignoreIndex { targets += 1 }
                                    mask[t + i] = 1
                                    positions[t + i] = Int32(i)
                                    sequences[t + i] = Int32(s + 1)
                                }
                            }
                        }
                        t += example.count
                    }
                    lengths.append(t - r * length)
                }
            }
        }
        batchSize = rows.count
        sequenceLength = length
        inputIDs = inputs
        self.labels = labels
        attentionMask = mask
        positionIDs = positions
        sequenceIDs = sequences
        self.lengths = lengths
        exampleCount = examples
        targetTokenCount = targets
        self.isPacked = isPacked
    }
}
