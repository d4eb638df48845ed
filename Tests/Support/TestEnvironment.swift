import Foundation

/// Where the repository and its references live, for tests that compare against tools no one here wrote.
public enum TestEnvironment {
    /// The repository root, found from this file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func fixture(_ relativePath: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
    }

    /// True in CI, where a missing reference is a failure rather than a reason to skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false }

    /// The default model, if installed: `$PHOENIX_MODEL`, else the cache folder the installer uses.
    public static var defaultModelPath: String? {
        let env = ProcessInfo.processInfo.environment
        if let path = env["PHOENIX_MODEL"], FileManager.default.fileExists(atPath: path) { return path }
        let cache = env["PHOENIX_CACHE"] ?? ((env["XDG_CACHE_HOME"] ?? (env["HOME"] ?? NSHomeDirectory()) + "/.cache") + "/phoenix")
        let path = cache + "/gemma-3-270m-q4_k_m.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Whether a model test should run: always in CI (where a missing model then fails loudly), else
    /// only when the model is installed.
    public static var defaultModelTestsEnabled: Bool { isCI || defaultModelPath != nil }

    /// Whether `python3` can import every module named (the references are Python packages).
    public static func pythonHas(_ modules: String...) -> Bool {
        (try? runPython(["-c", modules.map { "import \($0)" }.joined(separator: "; ")])) != nil
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `python3 ARGS` (or `$PYTHON`) from the repository root and returns its standard output.
    public static func runPython(_ arguments: [String]) throws -> Data {
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        process.currentDirectoryURL = repositoryRoot
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting: a reference may print more than a pipe buffer holds.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(python) \(arguments.joined(separator: " ")) failed: \(errorText.suffix(2000))")
        }
        return data
    }
}
