import Foundation
import Hummingbird
import PhoenixEngine

/// An error as OpenAI's API reports it: an HTTP status and `{"error": {"message", "type", "param", "code"}}`.
struct APIError: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    var message: String
    var type: String
    var param: String?
    var code: String?

    static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static func unknownParameter(_ name: String) -> APIError {
        .invalidRequest("Unrecognized request argument supplied: \(name)", param: name, code: "unknown_parameter")
    }

    static func wrongType(_ name: String, expected: String, got value: JSONValue) -> APIError {
        .invalidRequest("Invalid type for '\(name)': expected \(expected), but got \(value.typeDescription) instead.",
                        param: name, code: "invalid_type")
    }

    static func outOfRange(_ name: String, _ requirement: String) -> APIError {
        .invalidRequest("Invalid value for '\(name)': \(requirement).", param: name, code: "invalid_value")
    }

    static let malformedJSON = APIError.invalidRequest(
        "We could not parse the JSON body of your request. The body must be one JSON object.", code: "invalid_json")

    static func bodyTooLarge(limitBytes: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "The request body is larger than the limit of \(limitBytes) bytes.",
                 type: "invalid_request_error", param: nil, code: "request_too_large")
    }

    static func modelNotFound(_ requested: String, served: String) -> APIError {
        APIError(status: .notFound, message: "The model '\(requested)' does not exist; this server serves '\(served)'.",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    static func routeNotFound(_ method: HTTPRequest.Method, _ path: String) -> APIError {
        APIError(status: .notFound, message: "Unknown request URL: \(method.rawValue) \(path).",
                 type: "invalid_request_error", param: nil, code: "unknown_url")
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method, _ path: String, allowed: HTTPRequest.Method) -> APIError {
        APIError(status: .methodNotAllowed, message: "\(path) takes \(allowed.rawValue) requests, not \(method.rawValue).",
                 type: "invalid_request_error", param: nil, code: "method_not_allowed")
    }

    static let missingAPIKey = APIError(
        status: .unauthorized, message: "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.",
        type: "invalid_request_error", param: nil, code: "invalid_api_key")

    static let wrongAPIKey = APIError(
        status: .unauthorized, message: "Incorrect API key provided.", type: "invalid_request_error", param: nil,
        code: "invalid_api_key")

    static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", param: nil, code: nil)
    }

    /// `{"error": {...}}` with `param` and `code` present as null when absent, as OpenAI writes them.
    var body: JSONValue {
        .object(["error": .object([
            "message": .string(message),
            "type": .string(type),
            "param": param.map(JSONValue.string) ?? .null,
            "code": code.map(JSONValue.string) ?? .null,
        ])])
    }

    func response() -> Response {
        var response = Response.json(body, status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

extension APIError {
    /// The status and shape each engine refusal gets.
    init(_ error: ServingError) {
        switch error {
        case .invalidRequest(let message):
            self = .invalidRequest(message)
        case .promptTooLong:
            self = .invalidRequest(error.description, code: "context_length_exceeded")
        case .queueFull:
            self = APIError(status: .tooManyRequests, message: error.description, type: "rate_limit_error",
                            param: nil, code: "queue_full")
        case .shuttingDown:
            self = APIError(status: .serviceUnavailable, message: error.description, type: "server_error",
                            param: nil, code: "shutting_down")
        }
    }

    /// Any error thrown while answering, in OpenAI's shape.
    init(_ error: any Error) {
        switch error {
        case let error as APIError: self = error
        case let error as ServingError: self.init(error)
        case is ClientDisconnected:
            // nginx's 499: nobody reads this response, but the metrics count it apart from real failures.
            self = APIError(status: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"),
                            message: "The client closed the connection before the answer was complete.",
                            type: "invalid_request_error", param: nil, code: "client_closed_request")
        case let error as any HTTPResponseError:
            self = APIError(status: error.status, message: "\(error.status.reasonPhrase).",
                            type: error.status.code >= 500 ? "server_error" : "invalid_request_error",
                            param: nil, code: nil)
        default:
            self = .internalError("The server failed to answer: \(error)")
        }
    }
}
