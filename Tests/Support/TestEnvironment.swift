import Foundation
import Synchronization

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

    /// What a finished process printed.
    public struct ProcessOutput: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
    }

    /// Runs `executable` with `arguments` (from the repository root unless told otherwise), feeding it
    /// `input`, and collects both outputs. The error stream is read on another thread, so neither pipe
    /// can fill up and stall the process.
    public static func run(_ executable: URL, _ arguments: [String], input: Data? = nil,
                           in directory: URL = repositoryRoot) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe(), errors = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        let errorData = Mutex(Data())
        let errorsRead = DispatchSemaphore(value: 0)
        Thread {
            errorData.withLock { $0 = errors.fileHandleForReading.readDataToEndOfFile() }
            errorsRead.signal()
        }.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errorsRead.wait()
        return ProcessOutput(status: process.terminationStatus, stdout: data,
                             stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    /// Runs `python3 ARGS` (or `$PYTHON`) from the repository root and returns its standard output.
    public static func runPython(_ arguments: [String]) throws -> Data {
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let result = try run(URL(fileURLWithPath: "/usr/bin/env"), [python] + arguments)
        guard result.status == 0 else {
            throw Failure(description: "\(python) \(arguments.joined(separator: " ")) failed: \(result.stderr.suffix(2000))")
        }
        return result.stdout
    }
}
