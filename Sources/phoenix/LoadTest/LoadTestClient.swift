import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What one streamed request measured.
struct RequestMeasurement: Sendable {
    /// Seconds from sending the request to its first token.
    var timeToFirstTokenSeconds: Double
    /// Mean seconds between tokens after the first; nil with fewer than two tokens.
    var timePerOutputTokenSeconds: Double?
    var outputTokens: Int
    /// As the server counted them, when it reported usage.
    var promptTokens: Int?
}

/// A failed request, with what the server or the connection said.
struct RequestFailure: Error, CustomStringConvertible {
    let description: String
}

/// Sends streamed `/v1/completions` requests to an OpenAI-compatible server and times their tokens.
struct LoadTestClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let apiKey: String?

    /// Longest a single request may take, streaming included.
    static let requestTimeout = TimeAmount.hours(1)

    /// The first model `GET /v1/models` lists.
    func firstModel() async throws -> String {
        var request = HTTPClientRequest(url: baseURL + "/v1/models")
        authorize(&request)
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw RequestFailure(description: "GET /v1/models: HTTP \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let models = json["data"] as? [[String: Any]], let id = models.first?["id"] as? String else {
            throw RequestFailure(description: "GET /v1/models lists no model; pass --model")
        }
        return id
    }

    /// Streams one completion of `prompt`, greedy and ignoring end-of-sequence so it runs `maxTokens` long.
    func complete(prompt: String, model: String, maxTokens: Int) async throws -> RequestMeasurement {
        let body: [String: Any] = [
            "model": model, "prompt": prompt, "max_tokens": maxTokens, "temperature": 0, "ignore_eos": true,
            "stream": true, "stream_options": ["include_usage": true],
        ]
        var request = HTTPClientRequest(url: baseURL + "/v1/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        // One connection per request: some servers (llama-server) close kept-alive connections after a few
        // requests, which a pooled client only learns when its next request fails. A local connect costs
        // microseconds, the same for every server measured.
        request.headers.add(name: "Connection", value: "close")
        authorize(&request)
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))

        let clock = ContinuousClock()
        let start = clock.now
        let response = try await http.execute(request, timeout: Self.requestTimeout)
        guard response.status == .ok else {
            let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
            throw RequestFailure(description: "HTTP \(response.status.code): \(Self.errorMessage(text))")
        }
        var events = ServerSentEvents()
        var firstToken: ContinuousClock.Instant?, lastToken = start
        var tokenChunks = 0
        var usage: (prompt: Int, completion: Int)?
        var sawDone = false
        for try await buffer in response.body {
            for payload in events.append(buffer.readableBytesView) {
                if payload == "[DONE]" { sawDone = true; continue }
                guard let chunk = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else {
                    throw RequestFailure(description: "a streamed event is not JSON: \(payload.prefix(200))")
                }
                if chunk["error"] != nil { throw RequestFailure(description: "error event: \(Self.errorMessage(payload))") }
                if let counts = chunk["usage"] as? [String: Any], let completion = counts["completion_tokens"] as? Int {
                    usage = (counts["prompt_tokens"] as? Int ?? 0, completion)
                }
                // A token chunk is one whose choice has not finished; the finishing chunk may carry text too.
                let choices = chunk["choices"] as? [[String: Any]] ?? []
                guard let choice = choices.first else { continue }
                let text = choice["text"] as? String ?? ""
                if choice["finish_reason"] is NSNull || choice["finish_reason"] == nil || !text.isEmpty {
                    let now = clock.now
                    if firstToken == nil { firstToken = now }
                    lastToken = now
                    tokenChunks += 1
                }
            }
        }
        guard sawDone else { throw RequestFailure(description: "the stream ended without [DONE]") }
        guard let firstToken else { throw RequestFailure(description: "the stream carried no token") }
        // Servers that skip chunks (text held back for a partial character) still count every token in usage.
        let outputTokens = usage?.completion ?? tokenChunks
        let timePerOutputToken = outputTokens > 1 ? (lastToken - firstToken).seconds / Double(outputTokens - 1) : nil
        return RequestMeasurement(timeToFirstTokenSeconds: (firstToken - start).seconds,
                                  timePerOutputTokenSeconds: timePerOutputToken, outputTokens: outputTokens,
                                  promptTokens: usage?.prompt)
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
    }

    /// The `error.message` of an OpenAI-style error body, else the body itself, shortened.
    static func errorMessage(_ body: String) -> String {
        if let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
           let error = json["error"] as? [String: Any], let message = error["message"] as? String {
            return message
        }
        return String(body.prefix(300))
    }
}

/// Splits a `text/event-stream` body into the payloads of its `data:` lines, however the bytes arrive.
struct ServerSentEvents {
    private var pending: [UInt8] = []

    /// The payloads completed by `bytes`.
    mutating func append(_ bytes: some Sequence<UInt8>) -> [String] {
        pending.append(contentsOf: bytes)
        var payloads: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            pending.removeSubrange(...newline)
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("data:") {
                payloads.append(text.dropFirst(5).trimmingCharacters(in: .whitespaces))
            }
        }
        return payloads
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
