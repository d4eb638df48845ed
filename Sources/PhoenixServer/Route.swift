import Hummingbird

/// The server's routes and the one method each takes.
enum Route: String, CaseIterable {
    case completions = "/v1/completions"
    case chatCompletions = "/v1/chat/completions"
    case models = "/v1/models"
    case health = "/health"
    case metrics = "/metrics"

    var method: HTTPRequest.Method {
        switch self {
        case .completions, .chatCompletions: .post
        case .models, .health, .metrics: .get
        }
    }

    /// The `endpoint` label of `phoenix_requests_total`: a known route, or "other" so that arbitrary
    /// paths cannot grow the number of series.
    static func metricsLabel(for path: String) -> String {
        if let route = Route(rawValue: path) { return route.rawValue }
        if path.hasPrefix(Route.models.rawValue + "/") { return Route.models.rawValue }
        return "other"
    }
}
