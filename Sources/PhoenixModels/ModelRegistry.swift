import PhoenixGGUF

/// Builds the right model for a GGUF file from its `general.architecture`.
public enum ModelRegistry {
    struct Entry: Sendable {
        let architectures: [String]
        let make: @Sendable (GGUFFile, String) throws -> any LanguageModel
    }

    static let entries: [Entry] = [gemma3, llamaFamily]

    /// Every architecture name Phoenix runs.
    public static var supportedArchitectures: [String] { entries.flatMap(\.architectures) }

    /// Loads the model described by `file`; unknown architectures and missing or misshapen tensors
    /// throw a `ModelError` naming them.
    public static func load(_ file: GGUFFile) throws -> any LanguageModel {
        let architecture = try file.metadata.string("general.architecture")
        guard let entry = entries.first(where: { $0.architectures.contains(architecture) }) else {
            throw ModelError.unknownArchitecture(architecture, supported: supportedArchitectures)
        }
        return try entry.make(file, architecture)
    }
}
