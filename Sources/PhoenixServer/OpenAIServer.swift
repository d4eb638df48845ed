import Foundation
import Hummingbird
import Logging
import PhoenixEngine
import Synchronization

/// The OpenAI-compatible HTTP server over one model and its `ServingBackend`.
///
/// Routes: `POST /v1/completions`, `POST /v1/chat/completions`, `GET /v1/models`, `GET /health`,
/// `GET /metrics`. Thread-safe; one instance serves every connection.
public final class OpenAIServer: Sendable {
    let backend: any ServingBackend
    let model: any ServedModel
    let configuration: ServerConfiguration
    let metrics = ServerMetrics()
    let logger: Logger
    /// Set when shutdown begins: generation requests are refused with 503 from then on.
    private let draining = Atomic(false)
    /// When the server started, as OpenAI's `created` of the model.
    let startTime = Int(Date().timeIntervalSince1970)

    public init(backend: any ServingBackend, model: any ServedModel, configuration: ServerConfiguration = ServerConfiguration(),
                logger: Logger = Logger(label: "phoenix.server")) {
        self.backend = backend
        self.model = model
        self.configuration = configuration
        self.logger = logger
    }

    /// The name clients pass as `model`.
    public var modelName: String { configuration.modelName ?? model.name }

    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Refuses new generation requests from now on; requests already running carry on.
    public func beginDraining() { draining.store(true, ordering: .releasing) }

    /// Every route, behind the middleware that writes errors in OpenAI's shape and checks the API key.
    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        // Middleware wraps only the routes added after it, so it goes first.
        router.add(middleware: ErrorMiddleware(metrics: metrics, logger: logger))
        if let apiKey = configuration.apiKey { router.add(middleware: APIKeyMiddleware(apiKey: apiKey)) }
        addRoutes(to: router)
        return router
    }
}
