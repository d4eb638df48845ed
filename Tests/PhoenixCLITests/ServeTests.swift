import Foundation
import PhoenixTestSupport
import Synchronization
import Testing

/// `phoenix serve` on the default model, checked with the official `openai` Python client, then hit by a
/// storm of 1,000 requests, then stopped with SIGTERM as a service manager would.
@Suite(.serialized)
struct ServeTests {
    static var executable: URL { CLITests.executable }

    /// Runs everywhere the model and the `openai` package are installed; in CI, where test.sh installs
    /// both, a missing one fails instead.
    static var enabled: Bool {
        FileManager.default.isExecutableFile(atPath: executable.path)
            && (TestEnvironment.isCI || (TestEnvironment.defaultModelPath != nil && TestEnvironment.pythonHas("openai")))
    }

    @Test(.enabled(if: enabled, "phoenix, the default model or the openai package missing"))
    func openAIClientAgainstServeThenSIGTERM() throws {
        let model = try #require(TestEnvironment.defaultModelPath, "the default model is not installed")
        let server = try ServeProcess(executable: Self.executable,
                                      arguments: ["serve", "--model", model, "--port", "0", "--max-batch", "4",
                                                  "--max-waiting", "32"])
        defer { server.killIfRunning() }
        let url = try server.waitForListeningURL(timeoutSeconds: 300)

        let output = try TestEnvironment.runPython(["Scripts/openai_client_check.py", "--base-url", url + "/v1"])
        let report = String(decoding: output, as: UTF8.self)
        #expect(report.contains(" passed, 0 failed"), "\(report)")

        // 1,000 requests from 100 clients at once, half of them hanging up mid-stream: successes and 429s
        // only, and afterwards no KV block held by anything but the prefix cache.
        let storm = try TestEnvironment.runPython(["Scripts/storm_check.py", "--base-url", url,
                                                   "--requests", "1000", "--workers", "100"])
        let summary = String(decoding: storm, as: UTF8.self)
        #expect(summary.contains("\"failures\": []"), "\(summary)")
        #expect(summary.contains("\"429\""), "the queue limit was never reached: \(summary)")

        let status = try server.terminate(timeoutSeconds: 120)
        #expect(status == 0, "phoenix serve exited with \(status) after SIGTERM; stderr:\n\(server.standardError)")
    }
}

/// A `phoenix serve` child process: waits for its listening line, stops it with SIGTERM.
final class ServeProcess: Sendable {
    private let process: Process
    private let lines: LineReader
    private let errors = Mutex("")

    init(executable: URL, arguments: [String]) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = TestEnvironment.repositoryRoot
        let output = Pipe(), errorOutput = Pipe()
        process.standardOutput = output
        process.standardError = errorOutput
        process.standardInput = FileHandle.nullDevice
        lines = LineReader(output.fileHandleForReading)
        try process.run()
        Thread { [self] in
            let data = errorOutput.fileHandleForReading.readDataToEndOfFile()
            errors.withLock { $0 = String(decoding: data, as: UTF8.self) }
        }.start()
    }

    var standardError: String { errors.withLock { $0 } }

    /// The URL from "phoenix serve: listening on URL", or a failure if the process ends or takes too long.
    func waitForListeningURL(timeoutSeconds: Double) throws -> String {
        let prefix = "phoenix serve: listening on "
        guard let line = lines.firstLine(where: { $0.hasPrefix(prefix) }, timeoutSeconds: timeoutSeconds) else {
            killIfRunning()
            process.waitUntilExit()
            throw ServeFailure("phoenix serve never said it was listening; stderr:\n\(standardError)")
        }
        return String(line.dropFirst(prefix.count))
    }

    /// Sends SIGTERM and returns the exit status; a process still running after the timeout is killed and fails.
    func terminate(timeoutSeconds: Double) throws -> Int32 {
        process.terminate()  // SIGTERM
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard !process.isRunning else {
            killIfRunning()
            throw ServeFailure("phoenix serve was still running \(timeoutSeconds) s after SIGTERM")
        }
        process.waitUntilExit()
        guard process.terminationReason == .exit else {
            throw ServeFailure("phoenix serve died of signal \(process.terminationStatus)")
        }
        return process.terminationStatus
    }

    func killIfRunning() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Lines of a pipe, read on a thread of their own, handed out with a timeout.
final class LineReader: Sendable {
    private let state = Mutex<(lines: [String], ended: Bool)>(([], false))
    private let arrived = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    state.withLock { $0.lines.append(line) }
                    arrived.signal()
                }
            }
            state.withLock { $0.ended = true }
            arrived.signal()
        }.start()
    }

    /// The first line that satisfies `matches`, or nil when the pipe ends or the time runs out first.
    func firstLine(where matches: (String) -> Bool, timeoutSeconds: Double) -> String? {
        let deadline = DispatchTime.now() + timeoutSeconds
        while true {
            let (line, ended) = state.withLock { state in (state.lines.first(where: matches), state.ended) }
            if let line { return line }
            if ended || arrived.wait(timeout: deadline) == .timedOut { return nil }
        }
    }
}

struct ServeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
