/// How the HTTP server is reached and what it accepts. The engine's own settings live in
/// `ServingConfiguration`.
public struct ServerConfiguration: Sendable, Equatable {
    /// Loopback by default: exposing a model to the network is a decision, not a default.
    public var host = "127.0.0.1"
    /// 0 lets the system pick a free port; the listening callback reports the real one.
    public var port = 8080
    /// What clients pass as `model`; nil uses the model's own name (the file's name).
    public var modelName: String?
    /// When set, every /v1 request needs `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// Larger request bodies are refused with 413.
    public var maxBodyBytes = 1 << 20
    /// Most positions the engine gives one sequence; chat requests without `max_tokens` may fill what the
    /// prompt leaves of it. nil: the model's context length.
    public var contextLimit: Int?

    public init() {}
}
