import Foundation
import PhoenixEngine
import PhoenixTestSupport
import Testing

/// `GenerationContext.benchmark` on the default model at tiny sizes: the shape of the results, not speed.
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"), .serialized)
struct BenchmarkTests {
    @Test func measuresPromptAndGenerationSeparately() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let context = GenerationContext(model: try LoadedModel(path: path), threads: 2, contextLimit: 64)
        var options = BenchmarkOptions(promptTokens: 8, generatedTokens: 4, repetitions: 2)
        options.commit = "test"
        let results = try context.benchmark(options)

        #expect(results.map(\.test) == ["pp8", "tg4"])
        for result in results {
            #expect(result.threads == 2)
            #expect(result.tokensPerSecond > 0 && result.tokensPerSecond.isFinite)
            #expect(result.stddev >= 0)
            #expect(result.samplesTokensPerSecond.count == 2)
            #expect(result.samplesTokensPerSecond.allSatisfy { $0 > 0 })
            #expect(result.model == URL(fileURLWithPath: path).lastPathComponent)
            #expect(result.commit == "test")
            #expect(!result.cpu.isEmpty)
            #expect(result.peakResidentBytes > 0)
            // Every weight is read once per decode step, so a step reads most of the file.
            #expect(result.weightBytesPerToken > 0 && result.weightBytesPerToken <= context.model.file.fileSize)
        }

        // The keys scripts read from `phoenix bench --json`.
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let object = try #require(JSONSerialization.jsonObject(with: encoder.encode(results[0])) as? [String: Any])
        for key in ["test", "threads", "tokens_per_second", "stddev", "model", "commit", "cpu", "peak_resident_bytes"] {
            #expect(object[key] != nil, "missing \(key)")
        }
    }

    @Test func rejectsEmptyOrNegativeSizes() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let context = GenerationContext(model: try LoadedModel(path: path), threads: 1, contextLimit: 16)
        #expect(throws: EngineError.self) { try context.benchmark(BenchmarkOptions(promptTokens: 0, generatedTokens: 0)) }
        #expect(throws: EngineError.self) { try context.benchmark(BenchmarkOptions(promptTokens: 8, repetitions: 0)) }
        #expect(throws: EngineError.self) { try context.benchmark(BenchmarkOptions(promptTokens: 32, generatedTokens: 1)) }
    }
}
