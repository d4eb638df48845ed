import Hummingbird
import Logging

/// Writes every error in OpenAI's shape with its status, and counts requests by endpoint and status.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            response = APIError.routeNotFound(request.method, request.uri.path).response()  // no route matched
        } catch {
            let apiError = APIError(error)
            if apiError.status.code >= 500 && apiError.status != .serviceUnavailable {
                logger.error("\(request.method) \(request.uri.path): \(error)")
            }
            response = apiError.response()
        }
        metrics.countRequest(endpoint: Route.metricsLabel(for: request.uri.path), status: response.status.code)
        return response
    }
}
