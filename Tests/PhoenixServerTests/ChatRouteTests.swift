import Foundation
import HummingbirdTesting
import NIOCore
import PhoenixEngine
import Testing
@testable import PhoenixServer

/// `POST /v1/chat/completions` answers in OpenAI's `chat.completion` shape, whole or streamed.
@Suite struct ChatRouteTests {
    @Test func wholeResponseHasOpenAIShape() async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            let body = #"{"model": "fake-model", "messages": [{"role": "system", "content": "the cat"},"# +
                #" {"role": "user", "content": [{"type": "text", "text": "Hello"}], "name": "ann"}], "max_completion_tokens": 10}"#
            let json = try ServerTest.json(try await ServerTest.post(client, "/v1/chat/completions", body))
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(json["object"] as? String == "chat.completion")
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(choice["index"] as? Int == 0)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant" && message["content"] as? String == "Hello, world!")
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(choice["logprobs"] is NSNull)
            #expect((json["usage"] as? [String: Any])?["total_tokens"] as? Int == 10)
        }
        // FakeVocabulary renders "role content" for each message: system the cat user Hello.
        #expect(backend.submitted.first?.promptIDs == [0, 9, 6, 7, 9, 2])
        #expect(backend.submitted.first?.maxTokens == 10)
    }

    @Test func defaultMaxTokensFillsTheContext() async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            _ = try await ServerTest.post(client, "/v1/chat/completions", #"{"messages": [{"role": "user", "content": "Hello"}]}"#)
        }
        #expect(backend.submitted.first?.maxTokens == 64 - 3)  // FakeVocabulary's context less the prompt
    }

    @Test func logprobsHaveTheContentShape() async throws {
        let backend = FakeBackend()
        try await ServerTest.withRouter(ServerTest.server(backend)) { client in
            let body = #"{"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 1, "logprobs": true, "top_logprobs": 2}"#
            let json = try ServerTest.json(try await ServerTest.post(client, "/v1/chat/completions", body))
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let content = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
            #expect(content.count == 1)
            #expect(content[0]["token"] as? String == "Hello")
            #expect(content[0]["logprob"] as? Double == -0.25)
            #expect(content[0]["bytes"] as? [Int] == Array("Hello".utf8).map(Int.init))
            let top = try #require(content[0]["top_logprobs"] as? [[String: Any]])
            #expect(top.map { $0["token"] as? String } == ["Hello", ","])
            #expect(top.map { $0["logprob"] as? Double } == [-0.25, -1.25])
            #expect(top[1]["bytes"] as? [Int] == [44])
        }
        #expect(backend.submitted.first?.logprobs == 2)
    }

    @Test func streamOpensWithTheRoleAndEndsWithDone() async throws {
        try await ServerTest.withRouter(ServerTest.server()) { client in
            let response = try await ServerTest.post(client, "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "Hello"}], "n": 2, "stream": true, "stream_options": {"include_usage": true}}"#)
            #expect(response.headers[.contentType] == "text/event-stream")
            let events = ServerTest.events(response)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            for index in [0, 1] {
                let mine = choices.filter { $0["index"] as? Int == index }
                let deltas = mine.compactMap { $0["delta"] as? [String: Any] }
                #expect(deltas.first?["role"] as? String == "assistant")
                #expect(deltas.dropFirst().allSatisfy { $0["role"] == nil })
                #expect(deltas.compactMap { $0["content"] as? String }.joined() == "Hello, world!")
                #expect(mine.last?["finish_reason"] as? String == "stop")
                #expect(deltas.last?.isEmpty == true)
            }
            let usage = try #require(chunks.last?["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 8)
        }
    }
}
