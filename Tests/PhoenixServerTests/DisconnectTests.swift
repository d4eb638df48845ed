import Foundation
import Testing
@testable import PhoenixServer

/// A client that goes away mid-answer ends the iteration of the engine's stream, which is what cancels
/// the request in the engine.
@Suite(.serialized) struct DisconnectTests {
    /// Waits for the backend's first stream to end, failing after `seconds`.
    static func waitForTermination(_ backend: FakeBackend, seconds: Int = 10) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await backend.terminations.first { _ in true } != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return false
            }
            let ended = await group.next() ?? false
            group.cancelAll()
            return ended
        }
    }

    @Test func hangingUpOnAStreamEndsTheEngineStream() async throws {
        let backend = FakeBackend(.endless)
        try await LiveServer.withPort(ServerTest.server(backend)) { port in
            let request = LiveServer.post("/v1/completions", json: #"{"prompt": "Hello", "max_tokens": 60, "stream": true}"#)
            let received = try await LiveServer.sendAndHangUp(port: port, request: request) { $0.contains("data: ") }
            #expect(received.hasPrefix("HTTP/1.1 200"))
            #expect(await Self.waitForTermination(backend), "the engine stream kept going after the client left")
        }
        #expect(backend.terminationCount == 1)
    }

    @Test func hangingUpOnAWholeResponseEndsTheEngineStream() async throws {
        let backend = FakeBackend(.endless)
        try await LiveServer.withPort(ServerTest.server(backend)) { port in
            let request = LiveServer.post("/v1/chat/completions",
                                          json: #"{"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 60}"#)
            // Nothing comes back before the answer is complete: hang up once the engine has the request.
            _ = try await LiveServer.sendAndHangUp(port: port, request: request) { _ in !backend.submitted.isEmpty }
            #expect(await Self.waitForTermination(backend), "the engine stream kept going after the client left")
        }
    }

    /// No write fails while the engine says nothing: the hangup itself must end the stream.
    @Test func hangingUpBeforeTheFirstTokenEndsTheEngineStream() async throws {
        let backend = FakeBackend(.silent)
        try await LiveServer.withPort(ServerTest.server(backend)) { port in
            let request = LiveServer.post("/v1/completions", json: #"{"prompt": "Hello", "stream": true}"#)
            let received = try await LiveServer.sendAndHangUp(port: port, request: request) { $0.contains("\r\n\r\n") }
            #expect(received.hasPrefix("HTTP/1.1 200"))
            #expect(await Self.waitForTermination(backend), "the engine stream kept going after the client left")
        }
    }
}
