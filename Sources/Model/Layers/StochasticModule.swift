import Tensor

/// A module with a random stream of its own (adapter dropout): training checkpoints save it by
/// module path, so a resumed run draws the same masks as an uninterrupted one.
public protocol StochasticModule: Module {
    /// The module's random state.
    var random: SeededRandom { get set }
}
