import Foundation
import PhoenixEngine
import PhoenixTestSupport
import Testing

/// `perplexity` against llama.cpp's `llama-perplexity` on the GPL-3 text Debian ships, from
/// Tests/Fixtures/models/gemma3-perplexity.json (made by Scripts/goldens/model_goldens.py).
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"), .serialized)
struct PerplexityTests {
    struct Fixture: Decodable {
        struct Text: Decodable { var path: String; var bytes: Int }
        struct Run: Decodable {
            var nCtx: Int
            var chunks: Int
            var scoredTokens: Int
            var ppl: Double
            var runningPplAfterEachChunk: [Double]
        }
        var text: Text
        var textTokensWithBos: Int
        var llamaCpp: [Run]
    }

    static func fixture() throws -> Fixture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Fixture.self, from: Data(contentsOf: TestEnvironment.fixture("models/gemma3-perplexity.json")))
    }

    /// The first four windows of 512 tokens: within 1% of llama.cpp's running perplexity after four
    /// chunks (each window is scored on its own, so this equals `llama-perplexity -c 512 --chunks 4`).
    @Test func withinOnePercentOfLlamaCpp() throws {
        let fixture = try Self.fixture()
        let text = try String(contentsOfFile: fixture.text.path, encoding: .utf8)
        try #require(text.utf8.count == fixture.text.bytes, "\(fixture.text.path) is not the text the reference scored")
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let context = GenerationContext(model: try LoadedModel(path: path), threads: 0, contextLimit: 512)
        #expect(try context.encode(text, options: GenerateOptions()).count == fixture.textTokensWithBos)

        let reference = try #require(fixture.llamaCpp.first { $0.nCtx == 512 })
        let result = try context.perplexity(of: text, windowLength: 512, maxWindows: 4)
        let expected = reference.runningPplAfterEachChunk[3]
        print("perplexity, 4 windows of 512: Phoenix \(result.ppl), llama.cpp \(expected)")
        #expect(result.windows == 4 && result.scoredTokens == 4 * 255)
        #expect(abs(result.ppl - expected) / expected < 0.01)
    }

    @Test func textShorterThanTwoWindowsIsRejected() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let context = GenerationContext(model: try LoadedModel(path: path), threads: 0, contextLimit: 512)
        #expect(throws: EngineError.textTooShort(tokens: 4, needed: 1024)) {
            try context.perplexity(of: "Too short.", windowLength: 512)
        }
    }
}
