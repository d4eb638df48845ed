import Foundation
import HummingbirdTesting
import NIOCore
import PhoenixEngine
import Testing
@testable import PhoenixServer

/// `POST /v1/completions` answers in OpenAI's `text_completion` shape, whole or streamed.
@Suite struct CompletionRouteTests {
    @Test func wholeResponseHasOpenAIShape() async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            let body = #"{"model": "fake-model", "prompt": "Hello world", "max_tokens": 8, "temperature": 0.5, "top_p": 0.9,"# +
                #" "seed": -3, "stop": "zzz", "user": "u1", "top_k": 5, "min_p": 0.1, "repetition_penalty": 1.1,"# +
                #" "presence_penalty": 0.5, "frequency_penalty": -0.5, "ignore_eos": true, "logprobs": null}"#
            let response = try await ServerTest.post(client, "/v1/completions", body)
            #expect(response.status == .ok)
            let json = try ServerTest.json(response)
            #expect((json["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(json["object"] as? String == "text_completion")
            #expect(json["model"] as? String == "fake-model")
            #expect(json["created"] is Int)
            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect(choices.count == 1)
            #expect(choices[0]["index"] as? Int == 0)
            #expect(choices[0]["text"] as? String == "Hello, world!")
            #expect(choices[0]["finish_reason"] as? String == "stop")
            #expect(choices[0]["logprobs"] is NSNull)
            let usage = try #require(json["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 3 && usage["completion_tokens"] as? Int == 4 && usage["total_tokens"] as? Int == 7)
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 1)
        }
        let request = try #require(backend.submitted.first)
        #expect(request.promptIDs == [0, 2, 4])
        #expect(request.maxTokens == 8 && request.n == 1 && request.logprobs == nil && request.ignoreEOS)
        #expect(request.stopStrings == ["zzz"])
        #expect(request.sampling.temperature == 0.5 && request.sampling.topP == 0.9 && request.sampling.topK == 5)
        #expect(request.sampling.minP == 0.1 && request.sampling.repetitionPenalty == 1.1)
        #expect(request.sampling.presencePenalty == 0.5 && request.sampling.frequencyPenalty == -0.5)
        #expect(request.sampling.seed == UInt64(bitPattern: -3))
    }

    @Test func promptsAsTokenIDsAndOneElementArrays() async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            let tokenIDs = try await ServerTest.post(client, "/v1/completions", #"{"prompt": [0, 7, 6]}"#).status
            #expect(tokenIDs == .ok)
            let oneString = try await ServerTest.post(client, "/v1/completions", #"{"prompt": ["Hello"]}"#).status
            #expect(oneString == .ok)
        }
        #expect(backend.submitted.map(\.promptIDs) == [[0, 7, 6], [0, 2]])
        #expect(backend.submitted.allSatisfy { $0.maxTokens == 16 })  // OpenAI's default for completions
    }

    @Test func lengthLimitAndSeveralChoices() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let json = try ServerTest.json(try await ServerTest.post(client, "/v1/completions",
                                                                      #"{"prompt": "Hello", "max_tokens": 2, "n": 2}"#))
            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            #expect(choices.allSatisfy { $0["text"] as? String == "Hello," && $0["finish_reason"] as? String == "length" })
            #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 4)
        }
    }

    @Test func logprobsHaveTheLegacyShape() async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            let json = try ServerTest.json(try await ServerTest.post(client, "/v1/completions",
                                                                      #"{"prompt": "Hello", "max_tokens": 3, "logprobs": 2}"#))
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let logprobs = try #require(choice["logprobs"] as? [String: Any])
            #expect(logprobs["tokens"] as? [String] == ["Hello", ",", " world"])
            #expect(logprobs["token_logprobs"] as? [Double] == [-0.25, -0.25, -0.25])
            #expect(logprobs["text_offset"] as? [Int] == [0, 5, 6])
            let top = try #require(logprobs["top_logprobs"] as? [[String: Double]])
            #expect(top.count == 3)
            #expect(top[0] == ["Hello": -0.25, ",": -1.25])
        }
        #expect(backend.submitted.first?.logprobs == 2)
    }

    @Test func streamSendsChunksThenDone() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let response = try await ServerTest.post(client, "/v1/completions",
                #"{"prompt": "Hello", "max_tokens": 3, "stream": true, "stream_options": {"include_usage": true}}"#)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            #expect(String(buffer: response.body).hasSuffix("data: [DONE]\n\n"))
            let events = ServerTest.events(response)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(chunks.allSatisfy { $0["object"] as? String == "text_completion" })
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.compactMap { $0["text"] as? String }.joined() == "Hello, world")
            #expect(choices.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
            #expect(choices.last?["finish_reason"] as? String == "length")
            let usageChunk = try #require(chunks.last)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            #expect((usageChunk["usage"] as? [String: Any])?["completion_tokens"] as? Int == 3)
        }
    }

    @Test func streamedChoicesInterleaveWithTheirIndex() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let response = try await ServerTest.post(client, "/v1/completions",
                                                     #"{"prompt": "Hello", "n": 2, "stream": true, "logprobs": 1}"#)
            let chunks = try ServerTest.events(response).dropLast().map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
            #expect(chunks.allSatisfy { $0["usage"] == nil })  // not asked for
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.prefix(4).map { $0["index"] as? Int } == [0, 1, 0, 1])
            for index in [0, 1] {
                let mine = choices.filter { $0["index"] as? Int == index }
                #expect(mine.compactMap { $0["text"] as? String }.joined() == "Hello, world!")
                #expect(mine.last?["finish_reason"] as? String == "stop")
                let offsets = mine.compactMap { ($0["logprobs"] as? [String: Any])?["text_offset"] as? [Int] }
                #expect(offsets == [[0], [5], [6], [12]])
            }
        }
    }
}
