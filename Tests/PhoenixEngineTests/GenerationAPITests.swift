import Foundation
import PhoenixEngine
import PhoenixTestSupport
import Testing

/// The Swift API on the default model: streaming, cancellation, limits and errors.
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"), .serialized)
struct GenerationAPITests {
    static let model: LoadedModel? = TestEnvironment.defaultModelPath.flatMap { try? LoadedModel(path: $0) }

    static func context(limit: Int? = 256) throws -> GenerationContext {
        GenerationContext(model: try #require(model, "default model missing: run Scripts/install-model.sh"),
                          threads: 0, contextLimit: limit)
    }

    @Test func streamedTextEqualsTheSynchronousResult() async throws {
        let context = try Self.context()
        var options = GenerateOptions()
        options.maxTokens = 12
        var streamed = "", tokens: [Int] = [], finish: FinishReason?
        for try await event in context.generate("Once upon a time", options: options) {
            switch event {
            case .token(let id, let text): tokens.append(id); streamed += text
            case .text(let text): streamed += text
            case .finished(let reason, let timings):
                finish = reason
                #expect(timings.promptTokens == 5 && timings.generatedTokens == 12)
            }
        }
        let result = try context.run(promptIDs: try context.encode("Once upon a time", options: options), options: options) { _ in }
        #expect(finish == .length)
        #expect(tokens == result.tokens && streamed == result.text && !streamed.isEmpty)
    }

    @Test func stoppingTheStreamCancelsAndFreesTheContext() async throws {
        let context = try Self.context()
        var options = GenerateOptions()
        options.maxTokens = 200
        var seen = 0
        for try await event in context.generate("The history of", options: options) {
            if case .token = event { seen += 1 }
            if seen == 3 { break }
        }
        // The generating thread notices at its next token; then the context takes new work.
        var options2 = GenerateOptions()
        options2.maxTokens = 2
        var result: GenerationResult?
        for _ in 0..<200 where result == nil {
            do {
                result = try context.run(promptIDs: [2, 818], options: options2) { _ in }
            } catch EngineError.busy {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(result?.tokens.count == 2)
    }

    @Test func stopStringsAndLimits() throws {
        let context = try Self.context()
        var options = GenerateOptions()
        options.maxTokens = 40
        let free = try context.run(promptIDs: try context.encode("The capital of France is", options: options), options: options) { _ in }
        // Stop at a word the free run produces: the text ends right before it.
        let stop = " largest"
        let cut = try #require(free.text.range(of: stop))
        options.stopStrings = [stop]
        let stopped = try context.run(promptIDs: free.promptIDs, options: options) { _ in }
        #expect(stopped.finishReason == .stopString)
        #expect(stopped.text == String(free.text[..<cut.lowerBound]))
    }

    @Test func promptLongerThanTheContextIsRejected() throws {
        let context = try Self.context(limit: 8)
        let ids = [Int](repeating: 818, count: 9)
        #expect(throws: EngineError.promptTooLong(tokens: 9, context: 8)) {
            try context.run(promptIDs: ids, options: GenerateOptions()) { _ in }
        }
        var options = GenerateOptions()
        options.maxTokens = 50
        let full = try context.run(promptIDs: [2, 818, 5279], options: options) { _ in }
        #expect(full.finishReason == .contextFull && full.tokens.count == 5)
        #expect(throws: EngineError.emptyPrompt) { try context.run(promptIDs: [], options: options) { _ in } }
        options.sampling.temperature = -1
        #expect(throws: EngineError.self) { try context.run(promptIDs: [2], options: options) { _ in } }
    }
}
