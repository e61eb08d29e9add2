import Foundation

/// Every adapter method Tailor knows, keyed by PEFT's `peft_type`.
public enum AdapterRegistry {
    /// The registered methods.
    public static let methods: [any AdapterMethod.Type] = [
        LoRAConfiguration.self, IA3Configuration.self, PromptTuningConfiguration.self, PrefixTuningConfiguration.self,
        BottleneckConfiguration.self,
    ]

    /// The `peft_type`s of the registered methods.
    public static var supportedTypes: [String] { methods.map { $0.peftType } }

    /// The method registered under `peftType` (case-insensitive).
    public static func method(peftType: String) throws -> any AdapterMethod.Type {
        guard let m = methods.first(where: { $0.peftType.caseInsensitiveCompare(peftType) == .orderedSame }) else {
            throw AdapterError.unknownMethod(peftType, supported: supportedTypes)
        }
        return m
    }
}
