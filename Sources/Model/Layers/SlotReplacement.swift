/// Replaces a linear slot, checking that the new layer is linear with the same widths.
func replaceLinear(_ slot: inout any LinearLayer, name: String, with module: any Module) throws {
    guard let layer = module as? any LinearLayer else {
        throw ModuleError.incompatibleReplacement(path: name, reason: "not a linear layer")
    }
    guard layer.inFeatures == slot.inFeatures, layer.outFeatures == slot.outFeatures else {
        throw ModuleError.incompatibleReplacement(
            path: name, reason: "shape \(layer.outFeatures)x\(layer.inFeatures), expected \(slot.outFeatures)x\(slot.inFeatures)")
    }
    slot = layer
}

/// Replaces a slot of protocol or class type `T`, checking the new module's kind.
///
/// `slotType` names the slot's declared type: without it Swift would open an existential slot to the
/// dynamic type of the module now in it, and accept only modules of that exact type.
func replaceSlot<T>(_ slot: inout T, as slotType: T.Type, name: String, with module: any Module) throws {
    guard let typed = module as? T else {
        throw ModuleError.incompatibleReplacement(path: name, reason: "expected \(T.self), got \(type(of: module))")
    }
    slot = typed
}

/// Fills or replaces an optional residual-join slot.
func replaceJoin(_ slot: inout (any ResidualJoin)?, name: String, with module: any Module) throws {
    guard let join = module as? any ResidualJoin else {
        throw ModuleError.incompatibleReplacement(path: name, reason: "not a residual join")
    }
    slot = join
}

/// Fills or replaces a model's `prompt_encoder` slot.
func replacePrefix(_ slot: inout (any SequencePrefix)?, with module: any Module) throws {
    guard let prefix = module as? any SequencePrefix else {
        throw ModuleError.incompatibleReplacement(path: "prompt_encoder", reason: "not a sequence prefix")
    }
    slot = prefix
}
