import Tensor

/// A module that can make an independent copy of itself, with its own parameter storage: what
/// PEFT's `modules_to_save` trains and saves in place of the original.
public protocol DuplicableModule: Module {
    /// A copy whose parameters share no storage with this module's.
    func duplicate() -> Self
}

extension Parameter {
    /// A parameter with a copy of this one's value and trainability.
    func duplicate() -> Parameter { Parameter(value.copy(), trainable: isTrainable) }
}

extension Linear: DuplicableModule {
    public func duplicate() -> Linear { Linear(weight: weight.duplicate(), bias: bias?.duplicate()) }
}

extension Embedding: DuplicableModule {
    public func duplicate() -> Embedding { Embedding(weight: weight.duplicate()) }
}

extension RMSNorm: DuplicableModule {
    public func duplicate() -> RMSNorm { RMSNorm(weight: weight.duplicate(), epsilon: epsilon) }
}

extension LayerNorm: DuplicableModule {
    public func duplicate() -> LayerNorm { LayerNorm(weight: weight.duplicate(), bias: bias.duplicate(), epsilon: epsilon) }
}
