import Foundation
import Testing
@testable import PhoenixServer

/// `phoenix loadtest` against a server with a scripted backend: no model needed.
@Suite struct LoadTestCommandTests {
    static var executable: URL {
        // The test bundle sits in the build folder next to the `phoenix` executable.
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("phoenix")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path), "phoenix not built"))
    func reportsEveryRequestAsJSON() async throws {
        let backend = FakeBackend()
        let prompts = FakeVocabulary.PromptLog()
        let server = ServerTest.server(backend, apiKey: "sesame", model: FakeVocabulary(promptLog: prompts))
        let run = try await LiveServer.withPort(server) { port in
            try await LiveServer.run(Self.executable, [
                "loadtest", "--url", "http://127.0.0.1:\(port)", "--requests", "7", "--concurrency", "3",
                "--prompt-tokens", "12", "--shared-prefix-tokens", "4", "--max-tokens", "3", "--api-key", "sesame",
                "--ttft-slo-ms", "60000", "--tpot-slo-ms", "60000", "--json",
            ])
        }
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["requests"] as? Int == 7 && json["completed"] as? Int == 7 && json["failed"] as? Int == 0)
        #expect(json["concurrency"] as? Int == 3)
        #expect(json["model"] as? String == "fake-model")  // the first of GET /v1/models
        #expect(json["output_tokens"] as? Int == 21)
        #expect((json["duration_s"] as? Double ?? 0) > 0)
        #expect((json["output_tokens_per_second"] as? Double ?? 0) > 0 && (json["requests_per_second"] as? Double ?? 0) > 0)
        #expect(json["goodput_rps"] as? Double == json["requests_per_second"] as? Double)
        for key in ["ttft_ms", "tpot_ms"] {
            let percentiles = try #require(json[key] as? [String: Double], "\(key)")
            #expect(Set(percentiles.keys) == ["p50", "p90", "p99"])
            #expect(percentiles["p50"]! <= percentiles["p90"]! && percentiles["p90"]! <= percentiles["p99"]!)
        }
        // Greedy, fixed length, and 12 one-token words after BOS.
        let requests = backend.submitted
        #expect(requests.count == 7)
        #expect(requests.allSatisfy { $0.ignoreEOS && $0.sampling.temperature == 0 && $0.maxTokens == 3 })
        #expect(requests.allSatisfy { $0.promptIDs.count == 13 })
        // The first 4 words are shared, the other 8 differ between requests.
        let words = prompts.all.map { $0.split(separator: " ") }
        #expect(words.count == 7 && words.allSatisfy { $0.count == 12 })
        #expect(Set(words.map { $0.prefix(4) }).count == 1)
        #expect(Set(words.map { $0.dropFirst(4) }).count == 7)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path), "phoenix not built"))
    func failuresAreCountedWithTheirMessage() async throws {
        let run = try await LiveServer.withPort(ServerTest.server(FakeBackend(.refuse(.queueFull(limit: 1))))) { port in
            try await LiveServer.run(Self.executable, [
                "loadtest", "--url", "http://127.0.0.1:\(port)", "--requests", "3", "--concurrency", "2", "--json",
            ])
        }
        #expect(run.status != 0)  // nothing completed
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
        #expect(json["failed"] as? Int == 3 && json["completed"] as? Int == 0)
        #expect((json["errors"] as? [String])?.first?.contains("HTTP 429") == true)
    }
}
