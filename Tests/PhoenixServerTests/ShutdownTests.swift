import Foundation
import ServiceLifecycle
import Synchronization
import Testing
@testable import PhoenixServer

/// Graceful shutdown: stop admitting, drain the engine, then stop the HTTP server.
@Suite struct ShutdownTests {
    @Test func gracefulShutdownDrainsTheBackendThenReturns() async throws {
        let backend = FakeBackend()
        var configuration = ServerConfiguration()
        configuration.port = 0
        let server = OpenAIServer(backend: backend, model: FakeVocabulary(), configuration: configuration)
        let (listening, announce) = AsyncStream<Int>.makeStream()
        let group = server.makeServiceGroup(gracefulShutdownSignals: []) { _, port in announce.yield(port) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try #require(await listening.first { _ in true })
            #expect(port > 0)
            #expect(!server.isDraining && !backend.drained)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()  // run() returned: the server is down
        }
        #expect(server.isDraining && backend.drained)
    }
}
