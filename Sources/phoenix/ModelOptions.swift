import ArgumentParser
import PhoenixGGUF

/// `--model PATH`, shared by every command that reads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "GGUF model file. Default: $PHOENIX_MODEL, else the default model (Gemma 3 270M Q4_K_M) in the cache.",
        valueName: "path"))
    var model: String?

    /// The file to open, or a validation error whose message says how to install the default model.
    func resolvedPath() throws -> String {
        do {
            return try ModelLocator.resolve(explicitPath: model)
        } catch let failure as ModelLocator.Failure {
            throw ValidationError(failure.description)
        }
    }

    /// Opens the resolved model; errors name the file and the problem.
    func open() throws -> (path: String, file: GGUFFile) {
        let path = try resolvedPath()
        do {
            return (path, try GGUFFile(path: path))
        } catch let error as GGUFError {
            throw CommandError("\(path): \(error)")
        }
    }
}

/// A failure a command reports as one line and a non-zero exit.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
