import Tensor

/// Which adapter each forward pass in the current task uses, chosen without touching the model's
/// shared state — so concurrent requests (or a teacher pass over the bare base) never see each
/// other's choice.
///
/// Adapter layers read ``AdapterRouting/selection`` on every call. The default, `.active`, applies
/// whatever adapter is active on the model.
///
/// ```swift
/// // The base model, adapters bypassed (e.g. a distillation teacher):
/// let teacher = try AdapterRouting.$selection.withValue(.base) { try model.forward(input, cache: nil) }
/// // One adapter per batch row:
/// let mixed = try AdapterRouting.$selection.withValue(.perRow(["sql", nil, "chat"])) { try model.forward(batch, cache: cache) }
/// ```
public enum AdapterSelection: Sendable, Equatable {
    /// The adapter active on the model (its shared setting).
    case active
    /// No adapter: the bare base model.
    case base
    /// The adapter named for each batch row (nil: the base model for that row). The count must equal
    /// the batch size of the forward pass; a single name applies to every row.
    case perRow([String?])
}

/// The task-local adapter selection read by adapter layers.
public enum AdapterRouting {
    /// The selection in force for forward passes in the current task.
    @TaskLocal public static var selection: AdapterSelection = .active
}

extension AdapterRouting {
    /// For `.perRow` routing inside an adapter layer: splits x and the base output y along their
    /// leading axis into `names.count` equal row groups, applies `body` once per run of consecutive
    /// rows that use the same adapter, and joins the results.
    public static func perRow(_ names: [String?], _ x: Tensor, _ y: Tensor,
                              _ body: (String?, Tensor, Tensor) -> Tensor) -> Tensor {
        let rows = names.count
        precondition(rows > 0 && x.shape[0] % rows == 0 && y.shape[0] == x.shape[0],
                     "per-row adapters for \(rows) rows, input \(x.shape)")
        let per = x.shape[0] / rows
        var parts: [Tensor] = []
        var start = 0
        while start < rows {
            var end = start + 1
            while end < rows && names[end] == names[start] { end += 1 }
            let range = (start * per)..<(end * per)
            parts.append(body(names[start], x.slice(axis: 0, range), y.slice(axis: 0, range)))
            start = end
        }
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }
}
