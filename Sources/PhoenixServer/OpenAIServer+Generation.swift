import Foundation
import Hummingbird
import NIOCore
import PhoenixEngine

extension OpenAIServer {
    func completions(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let arrival = ContinuousClock.now
        let parsed = try CompletionRequest(try await readFields(request), model: model)
        try checkModel(parsed.parameters.model)
        let promptIDs = try parsed.promptIDs(model: model)
        // OpenAI's default for completions is 16 tokens.
        let servingRequest = parsed.parameters.servingRequest(promptIDs: promptIDs, defaultMaxTokens: 16,
                                                              logprobs: parsed.logprobs)
        let format = CompletionFormat(model: model, includeLogprobs: parsed.logprobs != nil)
        return try await generate(servingRequest, parsed.parameters, format: format, connection: context.channel,
                                  arrival: arrival)
    }

    func chatCompletions(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let arrival = ContinuousClock.now
        let parsed = try ChatRequest(try await readFields(request), model: model)
        try checkModel(parsed.parameters.model)
        let promptIDs = try model.encodeChat(parsed.messages)
        // Without max_tokens a chat answer may use what the prompt leaves of the context, as OpenAI's does.
        let contextLimit = configuration.contextLimit ?? model.contextLength
        let servingRequest = parsed.parameters.servingRequest(promptIDs: promptIDs,
                                                              defaultMaxTokens: contextLimit - promptIDs.count,
                                                              logprobs: parsed.logprobs)
        let format = ChatCompletionFormat(model: model, includeLogprobs: parsed.logprobs != nil)
        return try await generate(servingRequest, parsed.parameters, format: format, connection: context.channel,
                                  arrival: arrival)
    }

    /// Submits the request and answers with the whole result or a stream of chunks. A client that
    /// goes away cancels its request in the engine (see `relayed(until:)`).
    private func generate(_ servingRequest: ServingRequest, _ parameters: GenerationParameters, format: some ResponseFormat,
                          connection: any Channel, arrival: ContinuousClock.Instant) async throws -> Response {
        guard !isDraining else { throw ServingError.shuttingDown }
        let events = try backend.submit(servingRequest).relayed(until: connection)
        let envelope = ResponseEnvelope(id: "\(format.idPrefix)-\(Self.randomID())", created: Int(Date().timeIntervalSince1970),
                                        model: modelName)
        if parameters.stream {
            let encoder = ChunkEncoder(envelope: envelope, format: format, choiceCount: servingRequest.n,
                                       promptTokens: servingRequest.promptIDs.count, includeUsage: parameters.includeUsage,
                                       includeLogprobs: servingRequest.logprobs != nil)
            return streamingResponse(events, encoder: encoder, arrival: arrival)
        }
        let output = try await GenerationOutput.collect(events, choiceCount: servingRequest.n,
                                                        promptTokens: servingRequest.promptIDs.count, arrival: arrival)
        record(output.usage, output.timing)
        let choices = output.choices.enumerated().map { format.choice(index: $0, $1) }
        return Response.json(envelope.json(object: format.objectName, choices: choices, usage: output.usage))
    }

    private func streamingResponse(_ events: AsyncThrowingStream<ServingEvent, any Error>, encoder: ChunkEncoder,
                                   arrival: ContinuousClock.Instant) -> Response {
        let body = ResponseBody { writer in
            var encoder = encoder
            var timing = TokenTiming(arrival: arrival)
            defer { self.record(encoder.usage, timing) }
            for frame in encoder.opening { try await writer.write(ByteBuffer(string: frame)) }
            var iterator = events.makeAsyncIterator()
            while true {
                let event: ServingEvent?
                do {
                    event = try await iterator.next()
                } catch let error as ClientDisconnected {
                    throw error  // nobody to tell
                } catch {
                    // The engine failed after the response began: the status line is gone, so say it in the stream.
                    try await writer.write(ByteBuffer(string: ChunkEncoder.errorFrame(APIError(error))))
                    try await writer.finish(nil)
                    return
                }
                guard let event else { break }
                timing.observe(event)
                for frame in encoder.frames(for: event) { try await writer.write(ByteBuffer(string: frame)) }
            }
            for frame in encoder.closing { try await writer.write(ByteBuffer(string: frame)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    private func record(_ usage: Usage, _ timing: TokenTiming) {
        metrics.countPrompt(tokens: usage.promptTokens, cachedTokens: usage.cachedTokens)
        metrics.countGenerated(tokens: usage.completionTokens)
        timing.record(into: metrics)
    }

    /// 24 random hexadecimal digits, like the ids OpenAI gives responses.
    static func randomID() -> String {
        (0..<3).map { _ in String(UInt32.random(in: .min ... .max), radix: 16).leftPadded(to: 8) }.joined()
    }
}

private extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
