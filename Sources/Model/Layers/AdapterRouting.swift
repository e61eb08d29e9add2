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
    /// the batch size of the forward pass.
    case perRow([String?])
}

/// The task-local adapter selection read by adapter layers.
public enum AdapterRouting {
    /// The selection in force for forward passes in the current task.
    @TaskLocal public static var selection: AdapterSelection = .active
}
