import Foundation
import PhoenixEngine
import PhoenixTestSupport
import Testing

/// The serving engine on the default model: batching, paging, prefix reuse and forks change speed only.
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"), .serialized)
struct ServingEngineTests {
    static let model: LoadedModel? = TestEnvironment.defaultModelPath.flatMap { try? LoadedModel(path: $0) }

    static func engine(_ adjust: (inout ServingConfiguration) -> Void = { _ in }) throws -> ServingEngine {
        var configuration = ServingConfiguration()
        configuration.contextLimit = 512
        adjust(&configuration)
        return try ServingEngine(model: try #require(model, "default model missing: run Scripts/install-model.sh"),
                                 configuration: configuration)
    }

    struct Outcome: Equatable {
        var tokens: [[Int]]
        var text: [String]
        var reasons: [FinishReason?]
        var cachedTokens = 0
    }

    static func collect(_ stream: AsyncThrowingStream<ServingEvent, any Error>, n: Int = 1) async throws -> Outcome {
        var outcome = Outcome(tokens: Array(repeating: [], count: n), text: Array(repeating: "", count: n),
                              reasons: Array(repeating: nil, count: n))
        for try await event in stream {
            switch event {
            case .started(_, let cached): outcome.cachedTokens = cached
            case .token(let choice, let token):
                outcome.tokens[choice].append(token.id)
                outcome.text[choice] += token.text
            case .finished(let choice, let reason, let text):
                outcome.reasons[choice] = reason
                outcome.text[choice] += text
            }
        }
        return outcome
    }

    static func request(_ text: String, maxTokens: Int = 12) throws -> ServingRequest {
        let model = try #require(model)
        var ids = model.tokenizer.encode(text, addSpecial: false)
        if let bos = model.tokenizer.bosID { ids.insert(bos, at: 0) }
        var request = ServingRequest(promptIDs: ids)
        request.maxTokens = maxTokens
        return request
    }

    static let prompts = [
        "The capital of France is", "Once upon a time", "def fibonacci(n):", "The three primary colors are",
        "Water boils at", "In 1492, Columbus", "The quick brown fox", "My favourite programming language is",
    ]

    /// Greedy outputs of 8 requests running together equal each request run alone, and equal the
    /// single-sequence generator's.
    @Test func batchedOutputsEqualEachRequestAlone() async throws {
        let engine = try Self.engine()
        var alone: [Outcome] = []
        for prompt in Self.prompts { alone.append(try await Self.collect(try engine.submit(Self.request(prompt)))) }
        let together = try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
            for (i, prompt) in Self.prompts.enumerated() {
                let stream = try engine.submit(Self.request(prompt))
                group.addTask { (i, try await Self.collect(stream)) }
            }
            var results = [Outcome?](repeating: nil, count: Self.prompts.count)
            for try await (i, outcome) in group { results[i] = outcome }
            return results.map { $0! }
        }
        #expect(together.map(\.tokens) == alone.map(\.tokens))
        #expect(together.map(\.text) == alone.map(\.text))

        let context = GenerationContext(model: try #require(Self.model), contextLimit: 512)
        var options = GenerateOptions()
        options.maxTokens = 12
        let generator = try context.run(promptIDs: Self.request(Self.prompts[0]).promptIDs, options: options) { _ in }
        #expect(alone[0].tokens[0] == generator.tokens)
        // Statistics are published after each step, a moment after the streams end.
        try await waitUntil { engine.statistics.runningSequences == 0 }
        #expect(engine.statistics.kvBlocksUsed == engine.statistics.kvBlocksCached)
    }

    /// A prompt that shares a cached prefix reuses its blocks and still gives the same tokens.
    @Test func prefixCacheReusesBlocksWithoutChangingResults() async throws {
        let shared = String(repeating: "Phoenix serves language models on ordinary machines. ", count: 12)
        let engine = try Self.engine()
        let uncached = try Self.engine { $0.prefixCaching = false }
        _ = try await Self.collect(try engine.submit(Self.request(shared + "First question:")))
        let second = try await Self.collect(try engine.submit(Self.request(shared + "Second question:")))
        let reference = try await Self.collect(try uncached.submit(Self.request(shared + "Second question:")))
        #expect(second.cachedTokens >= 96)
        #expect(reference.cachedTokens == 0)
        #expect(second.tokens == reference.tokens)
        #expect(engine.statistics.prefixHitTokens == second.cachedTokens)
    }

    /// n greedy samples all equal the single greedy answer: forked sequences copy the shared block
    /// before writing, so none overwrites another's keys.
    @Test func parallelSamplesShareThePromptAndStayIndependent() async throws {
        let engine = try Self.engine()
        let single = try await Self.collect(try engine.submit(Self.request("The history of Rome")))
        var request = try Self.request("The history of Rome")
        request.n = 3
        let three = try await Self.collect(try engine.submit(request), n: 3)
        #expect(three.tokens == Array(repeating: single.tokens[0], count: 3))

        request.sampling.temperature = 1
        request.sampling.seed = 42
        let sampled = try await Self.collect(try engine.submit(request), n: 3)
        let again = try await Self.collect(try engine.submit(request), n: 3)
        #expect(sampled.tokens == again.tokens)                 // a seed reproduces every choice
        #expect(Set(sampled.tokens).count > 1)                   // and the choices differ from each other
    }

    /// A pool too small for every request at once forces preemption; results do not change.
    @Test func preemptedRequestsFinishWithTheSameTokens() async throws {
        let roomy = try Self.engine()
        let tight = try Self.engine { $0.kvBlocks = 40; $0.blockSize = 4; $0.contextLimit = 160; $0.prefixCaching = false }
        var expected: [[[Int]]] = []
        for prompt in Self.prompts.prefix(4) {
            expected.append(try await Self.collect(try roomy.submit(Self.request(prompt, maxTokens: 48))).tokens)
        }
        let streams = try Self.prompts.prefix(4).map { try tight.submit(Self.request($0, maxTokens: 48)) }
        var got: [[[Int]]] = []
        for stream in streams { got.append(try await Self.collect(stream).tokens) }
        #expect(got == expected)
        try await waitUntil { tight.statistics.runningSequences == 0 }
        #expect(tight.statistics.preemptions > 0)
        #expect(tight.statistics.kvBlocksUsed == 0)
    }

    /// Dropping the stream (what a handler does when its client disconnects) cancels the request and
    /// gives its blocks back.
    @Test func abandonedStreamsFreeTheirBlocks() async throws {
        let engine = try Self.engine { $0.prefixCaching = false }
        func readThreeTokens(_ stream: AsyncThrowingStream<ServingEvent, any Error>) async throws -> Int {
            var received = 0
            for try await event in stream {
                if case .token = event { received += 1 }
                if received == 3 { break }
            }
            return received
        }
        #expect(try await readThreeTokens(engine.submit(Self.request("Count to a hundred:", maxTokens: 200))) == 3)
        try await waitUntil { engine.statistics.runningSequences == 0 }
        #expect(engine.statistics.kvBlocksUsed == 0)
        #expect(engine.statistics.generatedTokens < 50)
    }

    /// A thousand requests at once: the queue limit refuses the excess at once, the rest complete, and
    /// the pool is whole again afterwards.
    @Test func aStormOfRequestsLeavesNoBlockBehind() async throws {
        let engine = try Self.engine { $0.maxWaiting = 100; $0.prefixCaching = true }
        var accepted: [AsyncThrowingStream<ServingEvent, any Error>] = [], refused = 0
        for i in 0..<1000 {
            do { accepted.append(try engine.submit(Self.request("Request \(i % 37):", maxTokens: 2))) }
            catch ServingError.queueFull { refused += 1 }
        }
        #expect(accepted.count >= 100 && accepted.count + refused == 1000)
        var finished = 0
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for (i, stream) in accepted.enumerated() {
                group.addTask {
                    if i % 3 == 0 {  // a third of the clients vanish after the first event
                        for try await _ in stream { break }
                        return false
                    }
                    return try await Self.collect(stream).reasons.allSatisfy { $0 != nil }
                }
            }
            for try await done in group where done { finished += 1 }
        }
        #expect(finished == accepted.count - (accepted.count + 2) / 3)
        try await waitUntil { engine.statistics.runningSequences == 0 && engine.statistics.waitingRequests == 0 }
        let statistics = engine.statistics
        #expect(statistics.kvBlocksUsed == statistics.kvBlocksCached)  // only the prefix cache holds blocks
    }

    @Test func impossibleRequestsAreRefusedUpFront() throws {
        let engine = try Self.engine()
        var tooLong = try Self.request("Hello", maxTokens: 600)
        #expect(throws: ServingError.promptTooLong(tokens: tooLong.promptIDs.count, limit: 512)) { try engine.submit(tooLong) }
        tooLong.maxTokens = 0
        #expect(throws: ServingError.self) { try engine.submit(tooLong) }
        var bad = try Self.request("Hello")
        bad.promptIDs.append(10_000_000)
        #expect(throws: ServingError.self) { try engine.submit(bad) }
        bad = try Self.request("Hello")
        bad.n = 99
        #expect(throws: ServingError.self) { try engine.submit(bad) }
    }

    @Test func drainingRefusesNewWorkAndWaitsForRunningWork() async throws {
        let engine = try Self.engine()
        let stream = try engine.submit(Self.request("A long story:", maxTokens: 20))
        async let outcome = Self.collect(stream)
        await engine.drain()
        #expect(throws: ServingError.shuttingDown) { try engine.submit(Self.request("Late")) }
        #expect(try await outcome.reasons == [.length])
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}
