import Hummingbird

/// Requires `Authorization: Bearer <key>` on /v1 routes.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/") || request.uri.path == "/v1" else {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else { throw APIError.missingAPIKey }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else {
            throw APIError.missingAPIKey
        }
        guard Self.equalInConstantTime(String(header.dropFirst(prefix.count)), apiKey) else { throw APIError.wrongAPIKey }
        return try await next(request, context)
    }

    /// Compares every byte whatever the first difference, so timing does not reveal how much of a guess was right.
    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
