import Foundation
import Hummingbird
import NIOCore
import PhoenixEngine

extension OpenAIServer {
    /// The methods a route does not take answer 405 rather than 404, so a client sees what is wrong.
    static let otherMethods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch]

    func addRoutes(to router: Router<ServerRequestContext>) {
        router.post(RouterPath(Route.completions.rawValue)) { request, context in
            try await self.completions(request, context: context)
        }
        router.post(RouterPath(Route.chatCompletions.rawValue)) { request, context in
            try await self.chatCompletions(request, context: context)
        }
        router.get(RouterPath(Route.models.rawValue)) { _, _ in Response.json(self.modelList) }
        router.get("/v1/models/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard id == self.modelName else { throw APIError.modelNotFound(id, served: self.modelName) }
            return Response.json(self.modelObject)
        }
        router.get(RouterPath(Route.health.rawValue)) { _, _ in
            if self.isDraining { throw ServingError.shuttingDown }
            return Response.json(["status": "ok"])
        }
        router.get(RouterPath(Route.metrics.rawValue)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(
                        string: self.metrics.exposition(refreshedFrom: self.backend.statistics))))
        }
        for route in Route.allCases {
            for method in Self.otherMethods where method != route.method {
                router.on(RouterPath(route.rawValue), method: method) { request, _ -> Response in
                    throw APIError.methodNotAllowed(request.method, route.rawValue, allowed: route.method)
                }
            }
        }
    }

    var modelObject: JSONValue {
        ["id": .string(modelName), "object": "model", "created": .integer(startTime), "owned_by": "phoenix"]
    }

    var modelList: JSONValue { ["object": "list", "data": [modelObject]] }

    /// The body as JSON fields; 413 when it is over the limit, whether or not it declared its length.
    func readFields(_ request: Request) async throws -> RequestFields {
        let limit = configuration.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.bodyTooLarge(limitBytes: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limitBytes: limit)
        }
        return try RequestFields(body: Data(buffer.readableBytesView))
    }

    /// A request for another model is refused; one that names none gets this one.
    func checkModel(_ requested: String?) throws {
        if let requested, requested != modelName { throw APIError.modelNotFound(requested, served: modelName) }
    }
}
