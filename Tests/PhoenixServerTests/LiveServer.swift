import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PhoenixServer
#if canImport(Glibc)
import Glibc
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
#else
import Darwin
private let streamSocketType = SOCK_STREAM
#endif

/// Helpers for tests that need a real socket: a server on a free loopback port, a raw HTTP connection
/// that can be dropped mid-response, and child processes awaited without blocking the test's threads.
enum LiveServer {
    /// Runs `body` with the port of `server` listening on a free loopback port, set up as `phoenix serve` sets it up.
    static func withPort<Value: Sendable>(_ server: OpenAIServer, _ body: @Sendable (Int) async throws -> Value)
        async throws -> Value {
        try await server.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            return try await body(port)
        }
    }

    /// Sends `request` on a new connection and reads the response until `hangUpWhen` holds for what
    /// has arrived, then closes the connection without reading the rest, as a client that gives up does.
    /// Returns what it read. The blocking socket calls run on a thread of their own.
    static func sendAndHangUp(port: Int, request: String, hangUpWhen: @escaping @Sendable (String) -> Bool)
        async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try blockingSendAndHangUp(port: port, request: request, hangUpWhen: hangUpWhen) })
            }.start()
        }
    }

    private static func blockingSendAndHangUp(port: Int, request: String, hangUpWhen: (String) -> Bool) throws -> String {
        let descriptor = socket(AF_INET, streamSocketType, 0)
        guard descriptor >= 0 else { throw Failure("socket() failed") }
        defer { close(descriptor) }
        // Short receive timeouts, so that the condition is checked while the server says nothing.
        var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure("connect() failed: \(errno)") }
        let bytes = Array(request.utf8)
        guard send(descriptor, bytes, bytes.count, 0) == bytes.count else { throw Failure("send() failed") }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(10)
        while !hangUpWhen(received) {
            guard Date() < deadline else { throw Failure("gave up waiting; received: \(received)") }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += String(decoding: buffer[..<count], as: UTF8.self)
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                throw Failure("the connection ended early; received: \(received)")
            }
        }
        return received
    }

    /// An HTTP/1.1 POST with a JSON body.
    static func post(_ path: String, json: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    struct ProcessResult: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` to its end without holding a thread of the test while it runs.
    static func run(_ executable: URL, _ arguments: [String]) async throws -> ProcessResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let outputData = ReadToEnd(output.fileHandleForReading), errorData = ReadToEnd(errors.fileHandleForReading)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return ProcessResult(status: status, stdout: String(decoding: await outputData.value, as: UTF8.self),
                             stderr: String(decoding: await errorData.value, as: UTF8.self))
    }

    /// Reads a pipe to its end on a thread of its own, so a full pipe never stalls the child process.
    final class ReadToEnd: Sendable {
        private let result = AsyncStream<Data>.makeStream()

        init(_ handle: FileHandle) {
            let continuation = result.continuation
            Thread {
                continuation.yield(handle.readDataToEndOfFile())
                continuation.finish()
            }.start()
        }

        var value: Data {
            get async { await result.stream.first { _ in true } ?? Data() }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
