import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import UnixSignals

extension OpenAIServer {
    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: new generation requests get 503, the
    /// engine finishes what it is running (`ServingBackend.drain`), and only then does the HTTP server
    /// close its connections and return. `onListening` gets the bound host and port (the real one when
    /// the configured port is 0).
    public func run(onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) async throws {
        try await makeServiceGroup(gracefulShutdownSignals: [.sigterm, .sigint], onListening: onListening).run()
    }

    /// The HTTP server and the drain, in the order that makes shutdown graceful. Tests pass no signals
    /// and call `triggerGracefulShutdown()` instead.
    func makeServiceGroup(gracefulShutdownSignals: [UnixSignal],
                          onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void) -> ServiceGroup {
        let application = makeApplication(onListening: onListening)
        // ServiceGroup shuts services down in reverse order: the drain finishes before the HTTP server stops.
        return ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [application, DrainService(server: self)], gracefulShutdownSignals: gracefulShutdownSignals,
            logger: logger))
    }

    /// The HTTP server alone, on the configured address, with the handler that notices clients hanging up.
    public func makeApplication(onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in })
        -> some ApplicationProtocol {
        let host = configuration.host, logger = logger
        // Hummingbird's own start-up and per-request lines would repeat ours; keep only its warnings.
        var frameworkLogger = logger
        frameworkLogger.logLevel = max(logger.logLevel, .warning)
        return Application(
            router: makeRouter(),
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [ClientHangupHandler()])),
            configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port), serverName: "phoenix"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening on \(Self.url(host: host, port: port))")
                await onListening(host, port)
            },
            logger: frameworkLogger)
    }

    /// `http://host:port`, with an IPv6 host in brackets.
    public static func url(host: String, port: Int) -> String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}

/// Waits for graceful shutdown, then stops admitting requests and waits for the engine to empty.
struct DrainService: Service {
    let server: OpenAIServer

    func run() async throws {
        // Throws only when the group is cancelled instead of shut down: then there is nothing to wait for.
        try await gracefulShutdown()
        server.logger.info("shutting down: finishing running requests")
        server.beginDraining()
        await server.backend.drain()
    }
}
