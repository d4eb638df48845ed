import Foundation
import HummingbirdTesting
import NIOCore
import Testing
@testable import PhoenixServer

/// `/v1/models`, `/health` and `/metrics`.
@Suite struct ServiceRouteTests {
    @Test func modelsListsTheOneModel() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let json = try ServerTest.json(try await client.execute(uri: "/v1/models", method: .get))
            #expect(json["object"] as? String == "list")
            let models = try #require(json["data"] as? [[String: Any]])
            #expect(models.count == 1)
            #expect(models[0]["id"] as? String == "fake-model" && models[0]["object"] as? String == "model")
            #expect(models[0]["created"] is Int && models[0]["owned_by"] is String)
            let one = try ServerTest.json(try await client.execute(uri: "/v1/models/fake-model", method: .get))
            #expect(one["id"] as? String == "fake-model")
        }
    }

    @Test func modelNameCanBeConfigured() async throws {
        var configuration = ServerConfiguration()
        configuration.modelName = "my-model"
        let server = OpenAIServer(backend: FakeBackend(), model: FakeVocabulary(), configuration: configuration)
        try await ServerTest.withRouter(server) { client in
            let json = try ServerTest.json(try await client.execute(uri: "/v1/models", method: .get))
            #expect((json["data"] as? [[String: Any]])?.first?["id"] as? String == "my-model")
            let ownName = try await ServerTest.post(client, "/v1/completions", #"{"model": "my-model", "prompt": "Hello"}"#).status
            #expect(ownName == .ok)
            let otherName = try await ServerTest.post(client, "/v1/completions", #"{"model": "fake-model", "prompt": "Hello"}"#).status
            #expect(otherName == .notFound)
        }
    }

    @Test func healthIsOK() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let response = try await client.execute(uri: "/health", method: .get)
            #expect(response.status == .ok)
            #expect(try ServerTest.json(response)["status"] as? String == "ok")
        }
    }

    @Test func metricsExposeRequestsTokensTimingsAndEngineGauges() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            _ = try await ServerTest.post(client, "/v1/completions", #"{"prompt": "Hello", "max_tokens": 4}"#)
            _ = try await ServerTest.post(client, "/v1/completions", #"{"prompt": "Hello", "stream": true}"#)
            _ = try await ServerTest.post(client, "/v1/completions", #"{"prompt": 1}"#)
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            let expected = [
                #"phoenix_requests_total{endpoint="/v1/completions",status="200"} 2"#,
                #"phoenix_requests_total{endpoint="/v1/completions",status="400"} 1"#,
                "phoenix_prompt_tokens_total 4",
                "phoenix_cached_prompt_tokens_total 2",
                "phoenix_generated_tokens_total 8",
                "phoenix_time_to_first_token_seconds_count 2",
                "phoenix_time_per_output_token_seconds_count 2",
                "phoenix_waiting_requests 3",
                "phoenix_running_sequences 2",
                "phoenix_kv_blocks_used 40",
                "phoenix_kv_blocks_total 100",
                "phoenix_kv_blocks_cached 0",
                "phoenix_prefix_cache_hit_rate 0.4",
            ]
            for line in expected { #expect(text.contains(line), "missing \(line) in\n\(text)") }
        }
    }

    /// Two servers in one process keep separate metrics: no global bootstrap is involved.
    @Test func serversKeepTheirOwnMetrics() async throws {
        let first = ServerTest.server(), second = ServerTest.server()
        try await ServerTest.withRouter(first) { client in
            _ = try await ServerTest.post(client, "/v1/completions", #"{"prompt": "Hello"}"#)
        }
        try await ServerTest.withRouter(second) { client in
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(!text.contains(#"endpoint="/v1/completions""#))
        }
    }
}
