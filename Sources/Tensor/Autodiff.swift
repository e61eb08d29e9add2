import Foundation

/// One node of the reverse-mode autodiff graph.
///
/// An op whose inputs need gradients records a node holding its inputs' nodes and a pullback:
/// given the gradient of the op's output it returns one gradient per input (nil where an input
/// needs none). Leaves stand for trainable parameters. Nodes are immutable once made.
final class GradNode: @unchecked Sendable {
    let inputs: [GradNode?]
    /// Not `@Sendable`: a checkpointed segment's pullback re-runs model code. A graph is only ever
    /// walked by the task that built it.
    let pullback: ((Tensor) -> [Tensor?])?
    let parameterID: ObjectIdentifier?
    /// The parameter of a leaf (weak: the parameter owns its leaf).
    private(set) weak var parameter: Parameter?

    init(inputs: [GradNode?], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.pullback = pullback
        self.parameterID = nil
    }

    init(leafFor parameter: Parameter) {
        self.inputs = []
        self.pullback = nil
        self.parameterID = ObjectIdentifier(parameter)
        self.parameter = parameter
    }
}

/// Controls whether ops record the autodiff graph.
public enum GradientMode {
    @TaskLocal static var enabled = true
    /// True while a checkpointed segment runs its forward pass: still training (dropout on), but
    /// nothing is recorded — the backward pass recomputes the segment.
    @TaskLocal static var suspended = false

    /// Whether ops record the graph right now (enabled and not inside a checkpointed forward).
    public static var isRecording: Bool { enabled && !suspended }

    /// Whether ops record the autodiff graph in the current task (false inside
    /// ``withoutGradients(_:)-…``): training code may also read it as "in training mode".
    public static var isEnabled: Bool { enabled }

    /// Runs `body` without recording gradients (inference, evaluation): ops then keep no
    /// activations alive for a backward pass.
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $enabled.withValue(false, operation: body)
    }

    /// Async form of ``withoutGradients(_:)``.
    public static func withoutGradients<R>(_ body: () async throws -> R) async rethrows -> R {
        try await $enabled.withValue(false, operation: body)
    }
}

extension Tensor {
    /// Records an op's output: attaches a node when recording is on and any input needs a gradient.
    /// This is the hook for defining differentiable ops outside this module (quantized matmuls, …).
    ///
    /// `pullback` receives the output gradient and returns one gradient per entry of `inputs`,
    /// each shaped like that input; it may return nil for inputs with `requiresGradient == false`.
    public static func record(_ output: Tensor, inputs: [Tensor],
                       pullback: @escaping @Sendable (Tensor) -> [Tensor?]) -> Tensor {
        guard GradientMode.isRecording, inputs.contains(where: { $0.node != nil }) else { return output }
        return output.attaching(GradNode(inputs: inputs.map(\.node), pullback: pullback))
    }
}

/// Gradients of a scalar with respect to the trainable parameters it depends on; a sequence of
/// (parameter, gradient) pairs in no particular order.
public struct Gradients: Sequence, @unchecked Sendable {
    var values: [ObjectIdentifier: Tensor] = [:]
    var parameters: [ObjectIdentifier: Parameter] = [:]

    /// The gradient of `parameter`, or nil when the loss does not depend on it.
    public subscript(parameter: Parameter) -> Tensor? { values[ObjectIdentifier(parameter)] }

    /// Number of parameters that received a gradient.
    public var count: Int { values.count }

    /// Every parameter with its gradient.
    public func makeIterator() -> Iterator { Iterator(base: values.makeIterator(), parameters: parameters) }

    /// Iterates (parameter, gradient) pairs.
    public struct Iterator: IteratorProtocol {
        var base: Dictionary<ObjectIdentifier, Tensor>.Iterator
        let parameters: [ObjectIdentifier: Parameter]

        public mutating func next() -> (parameter: Parameter, gradient: Tensor)? {
            while let (id, gradient) = base.next() {
                if let parameter = parameters[id] { return (parameter, gradient) }
            }
            return nil
        }
    }
}

extension Tensor {
    /// Back-propagates from this one-element tensor and returns the gradient of every trainable
    /// parameter it depends on.
    ///
    /// Intermediate gradients are released as soon as every consumer has used them.
    public func gradients(seed: Float = 1) -> Gradients {
        precondition(count == 1, "gradients(seed:) needs a one-element tensor, got shape \(shape)")
        return backpropagate(seed: Tensor.full(shape, seed))
    }

    /// Back-propagates `seed` (shaped like this tensor: the gradient of some scalar with respect to
    /// it) and returns the gradient of every trainable parameter this tensor depends on.
    func backpropagate(seed: Tensor) -> Gradients {
        var result = Gradients()
        guard let root = node else { return result }
        let order = Self.topologicalOrder(from: root)
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed.detached]
        for node in order.reversed() {
            guard let grad = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            if let pid = node.parameterID {
                result.values[pid] = result.values[pid].map { $0.detached + grad } ?? grad
                if let p = node.parameter { result.parameters[pid] = p }
                continue
            }
            guard let pullback = node.pullback else { continue }
            let inputGrads = pullback(grad.detached)
            for (input, g) in zip(node.inputs, inputGrads) {
                guard let input, let g else { continue }
                let key = ObjectIdentifier(input)
                pending[key] = pending[key].map { $0 + g.detached } ?? g.detached
            }
        }
        return result
    }

    private static func topologicalOrder(from root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let child = node.inputs[next], visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}
