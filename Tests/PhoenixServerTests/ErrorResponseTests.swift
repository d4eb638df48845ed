import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import PhoenixEngine
import Testing
@testable import PhoenixServer

/// Every refusal has its HTTP status and OpenAI's error shape: {"error": {message, type, param, code}}.
@Suite struct ErrorResponseTests {
    /// The error object of `response`, after checking the shape every error shares.
    static func error(_ response: TestResponse, status: HTTPResponse.Status,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(response.status == status, "body: \(String(buffer: response.body))", sourceLocation: sourceLocation)
        let json = try ServerTest.json(response)
        let error = try #require(json["error"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(Set(error.keys) == ["message", "type", "param", "code"], sourceLocation: sourceLocation)
        #expect((error["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error["type"] is String, sourceLocation: sourceLocation)
        return error
    }

    @Test(arguments: [
        // (body, the parameter the error names)
        ("{not json", nil),
        ("[1, 2]", nil),
        ("", nil),
        (#"{"prompt": "Hello", "max_tokens": "ten"}"#, "max_tokens"),
        (#"{"prompt": "Hello", "max_tokens": -1}"#, "max_tokens"),
        (#"{"prompt": "Hello", "max_tokens": 0}"#, "max_tokens"),
        (#"{"prompt": "Hello", "max_tokens": 100000000000}"#, "max_tokens"),
        (#"{"prompt": "Hello", "max_tokens": 1e300}"#, "max_tokens"),
        (#"{"prompt": "Hello", "max_tokens": 2.5}"#, "max_tokens"),
        (#"{"prompt": "Hello", "seed": 9223372036854775808.0}"#, "seed"),
        (#"{"prompt": "Hello", "seed": 1e400}"#, nil),
        (#"{"prompt": "Hello", "temperature": 3}"#, "temperature"),
        (#"{"prompt": "Hello", "temperature": true}"#, "temperature"),
        (#"{"prompt": "Hello", "top_p": 0}"#, "top_p"),
        (#"{"prompt": "Hello", "n": 0}"#, "n"),
        (#"{"prompt": "Hello", "n": 17}"#, "n"),
        (#"{"prompt": "Hello", "logprobs": 6}"#, "logprobs"),
        (#"{"prompt": "Hello", "stop": ["a", "b", "c", "d", "e"]}"#, "stop"),
        (#"{"prompt": "Hello", "stop": 5}"#, "stop"),
        (#"{"prompt": "Hello", "stop": [""]}"#, "stop"),
        (#"{"prompt": "Hello", "stream": "yes"}"#, "stream"),
        (#"{"prompt": "Hello", "stream_options": {"include_usage": true, "extra": 1}}"#, "stream_options.extra"),
        (#"{"prompt": "Hello", "presence_penalty": 2.5}"#, "presence_penalty"),
        (#"{"prompt": "Hello", "best_of": 2}"#, "best_of"),
        (#"{"prompt": 42}"#, "prompt"),
        (#"{"prompt": []}"#, "prompt"),
        (#"{"prompt": ["a", "b"]}"#, "prompt"),
        (#"{"prompt": [1, 2, 99]}"#, "prompt[2]"),
        (#"{"prompt": [1, -2]}"#, "prompt[1]"),
        (#"{"max_tokens": 3}"#, "prompt"),
    ] as [(String, String?)])
    func completionsRefusesBadBodies(body: String, param: String?) async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            let response = try await ServerTest.post(client, "/v1/completions", body)
            let error = try Self.error(response, status: .badRequest)
            #expect(error["type"] as? String == "invalid_request_error")
            if let param { #expect(error["param"] as? String == param, "\(body): \(error)") }
        }
        #expect(backend.submitted.isEmpty)
    }

    @Test(arguments: [
        (#"{"messages": "hi"}"#, "messages"),
        (#"{"messages": []}"#, "messages"),
        (#"{"messages": [{"role": "robot", "content": "hi"}]}"#, "messages[0].role"),
        (#"{"messages": [{"role": "user"}]}"#, "messages[0].content"),
        (#"{"messages": [{"role": "user", "content": 7}]}"#, "messages[0].content"),
        (#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}"#, "messages[0].content[0].image_url"),
        (#"{"messages": [{"role": "user", "content": [{"type": "image"}]}]}"#, "messages[0].content[0].type"),
        (#"{"messages": [{"role": "user", "content": "hi", "tool_calls": []}]}"#, "messages[0].tool_calls"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}"#, "top_logprobs"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 21}"#, "top_logprobs"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 0}"#, "max_completion_tokens"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "tools": []}"#, "tools"),
    ])
    func chatRefusesBadBodies(body: String, param: String) async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let error = try Self.error(try await ServerTest.post(client, "/v1/chat/completions", body), status: .badRequest)
            #expect(error["param"] as? String == param, "\(body): \(error)")
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await ServerTest.withRouter(ServerTest.server(maxBodyBytes: 100)) { client in
            let body = #"{"prompt": "\#(String(repeating: "x", count: 200))"}"#
            let error = try Self.error(try await ServerTest.post(client, "/v1/completions", body), status: .contentTooLarge)
            #expect(error["code"] as? String == "request_too_large")
        }
    }

    @Test func deeplyNestedJSONIsRefusedWithoutCrashing() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let body = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            _ = try Self.error(try await ServerTest.post(client, "/v1/completions", body), status: .badRequest)
        }
    }

    @Test func unknownModelIs404() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let response = try await ServerTest.post(client, "/v1/completions", #"{"model": "gpt-9", "prompt": "Hello"}"#)
            let error = try Self.error(response, status: .notFound)
            #expect(error["code"] as? String == "model_not_found" && error["param"] as? String == "model")
            _ = try Self.error(try await client.execute(uri: "/v1/models/gpt-9", method: .get), status: .notFound)
        }
    }

    @Test func unknownRouteIs404AndWrongMethodIs405() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            _ = try Self.error(try await client.execute(uri: "/v1/engines", method: .get), status: .notFound)
            _ = try Self.error(try await client.execute(uri: "/v1/completions", method: .get), status: .methodNotAllowed)
            _ = try Self.error(try await client.execute(uri: "/health", method: .post), status: .methodNotAllowed)
        }
    }

    @Test func apiKeyIsRequiredOnV1RoutesOnly() async throws {
        try await ServerTest.withRouter(ServerTest.server(apiKey: "sesame")) { client in
            let body = #"{"prompt": "Hello", "max_tokens": 2}"#
            let missing = try Self.error(try await ServerTest.post(client, "/v1/completions", body), status: .unauthorized)
            #expect(missing["code"] as? String == "invalid_api_key")
            _ = try Self.error(try await ServerTest.post(client, "/v1/completions", body, headers: [.authorization: "Bearer wrong"]),
                               status: .unauthorized)
            _ = try Self.error(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Basic sesame"]),
                               status: .unauthorized)
            let allowed = try await ServerTest.post(client, "/v1/completions", body, headers: [.authorization: "Bearer sesame"])
            #expect(allowed.status == .ok)
            let health = try await client.execute(uri: "/health", method: .get).status
            #expect(health == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get).status
            #expect(metrics == .ok)
        }
    }

    @Test(arguments: [
        (ServingError.queueFull(limit: 4), HTTPResponse.Status.tooManyRequests, "queue_full"),
        (.shuttingDown, .serviceUnavailable, "shutting_down"),
        (.promptTooLong(tokens: 90, limit: 64), .badRequest, "context_length_exceeded"),
        (.invalidRequest("top-k must be >= 0"), .badRequest, nil),
    ] as [(ServingError, HTTPResponse.Status, String?)])
    func engineRefusalsMapToTheirStatus(refusal: ServingError, status: HTTPResponse.Status, code: String?) async throws {
        try await ServerTest.withRouter(ServerTest.server(FakeBackend(.refuse(refusal)))) { client in
            for stream in [false, true] {
                let completion = try await ServerTest.post(client, "/v1/completions", #"{"prompt": "Hello", "stream": \#(stream)}"#)
                let error = try Self.error(completion, status: status)
                #expect(error["message"] as? String == refusal.description)
                if let code { #expect(error["code"] as? String == code) }
                let chat = try await ServerTest.post(client, "/v1/chat/completions",
                                                     #"{"messages": [{"role": "user", "content": "hi"}], "stream": \#(stream)}"#)
                _ = try Self.error(chat, status: status)
            }
        }
    }

    @Test func drainingServerRefusesGenerationAndFailsHealth() async throws {
        let backend = FakeBackend()
        let server = ServerTest.server(backend)
        server.beginDraining()
        try await ServerTest.withRouter(server) { client in
            _ = try Self.error(try await ServerTest.post(client, "/v1/completions", #"{"prompt": "Hello"}"#),
                               status: .serviceUnavailable)
            _ = try Self.error(try await client.execute(uri: "/health", method: .get), status: .serviceUnavailable)
        }
        #expect(backend.submitted.isEmpty)
    }
}
