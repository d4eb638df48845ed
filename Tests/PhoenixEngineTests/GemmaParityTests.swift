import Foundation
import PhoenixEngine
import PhoenixKernels
import PhoenixModels
import PhoenixTestSupport
import Testing

/// The default model against Hugging Face transformers (float32, weights dequantized from the same file)
/// and llama.cpp, from Tests/Fixtures/models/gemma3-{transformers,llamacpp}.json (made by
/// Scripts/goldens/model_goldens.py).
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"), .serialized)
struct GemmaParityTests {
    struct Fixture: Decodable {
        struct Prompt: Decodable {
            var name: String
            var promptIDs: [Int]
            var generatedIDs: [Int]
            var margins: [Double]
            var firstNearTieStep: Int?
            var finalTop10: [TopEntry]?
            var finalLogitsRow: Int?

            enum CodingKeys: String, CodingKey {
                case name, margins
                case promptIDs = "prompt_ids", generatedIDs = "generated_ids", firstNearTieStep = "first_near_tie_step"
                case finalTop10 = "final_top10", finalLogitsRow = "final_logits_row"
            }
        }
        struct TopEntry: Decodable { var id: Int; var logprob: Double }
        var nearTie: Double
        var finalLogitsFile: String?
        var prompts: [Prompt]

        enum CodingKeys: String, CodingKey {
            case prompts
            case nearTie = "near_tie", finalLogitsFile = "final_logits_file"
        }
    }

    static func fixture(_ name: String = "models/gemma3-transformers.json") throws -> Fixture {
        let data = try Data(contentsOf: TestEnvironment.fixture(name))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    static func context() throws -> GenerationContext {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        return GenerationContext(model: try LoadedModel(path: path), threads: 0, contextLimit: 1024)
    }

    /// Greedy ids equal each reference's up to the first step where that reference's two best logits are
    /// within 0.3 (transformers from gemma3-transformers.json, llama.cpp from gemma3-llamacpp.json; both
    /// were given the same prompt ids).
    @Test func greedyTokensMatchUpToTheFirstNearTie() throws {
        let transformers = try Self.fixture()
        let llamaCpp = try Self.fixture("models/gemma3-llamacpp.json")
        let context = try Self.context()
        #expect(transformers.prompts.count >= 20)
        #expect(llamaCpp.prompts.map(\.promptIDs) == transformers.prompts.map(\.promptIDs))
        var options = GenerateOptions()
        options.maxTokens = transformers.prompts.map(\.generatedIDs.count).max() ?? 32
        var identical = ["transformers": 0, "llama.cpp": 0]
        for (index, prompt) in transformers.prompts.enumerated() {
            let ours = try context.run(promptIDs: prompt.promptIDs, options: options) { _ in }.tokens
            for (reference, name) in [(prompt, "transformers"), (llamaCpp.prompts[index], "llama.cpp")] {
                let checked = reference.firstNearTieStep ?? reference.generatedIDs.count
                let expected = Array(reference.generatedIDs.prefix(checked))
                #expect(Array(ours.prefix(checked)) == Array(expected.prefix(ours.count)),
                        "\(prompt.name): diverges from \(name) before its first near-tie (step \(checked))")
                if ours == reference.generatedIDs { identical[name, default: 0] += 1 }
            }
        }
        print("gemma3 greedy parity over \(transformers.prompts.count) prompts: identical for all tokens with "
            + "transformers \(identical["transformers"]!), with llama.cpp \(identical["llama.cpp"]!)")
    }

    /// The logits after the prompt: cosine similarity >= 0.999 with transformers' and the top-10
    /// log-probabilities within 0.05.
    @Test func finalLogitsAreClose() throws {
        let fixture = try Self.fixture()
        let context = try Self.context()
        let network = context.model.network
        let vocabulary = network.shape.vocabularySize
        let blob = try Data(contentsOf: TestEnvironment.fixture("models/" + (try #require(fixture.finalLogitsFile))))
        let reference: [Float] = blob.withUnsafeBytes { raw in
            raw.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: UInt16(littleEndian: $0))) }
        }
        var worstCosine = 1.0, worstTop10 = 0.0
        for prompt in fixture.prompts {
            let logits = try Self.finalLogits(context, prompt.promptIDs)
            let logSoftmax = Self.logSoftmax(logits)
            for entry in prompt.finalTop10 ?? [] {
                let difference = abs(logSoftmax[entry.id] - entry.logprob)
                worstTop10 = max(worstTop10, difference)
                #expect(difference <= 0.05, "\(prompt.name): token \(entry.id) log-prob \(logSoftmax[entry.id]) vs \(entry.logprob)")
            }
            guard let row = prompt.finalLogitsRow else { continue }
            let expected = reference[row * vocabulary..<(row + 1) * vocabulary]
            let cosine = Self.cosine(logits, Array(expected))
            worstCosine = min(worstCosine, cosine)
            #expect(cosine >= 0.999, "\(prompt.name): cosine \(cosine)")
        }
        print("gemma3 final logits: worst cosine \(worstCosine), worst top-10 log-prob difference \(worstTop10)")
    }

    static func finalLogits(_ context: GenerationContext, _ ids: [Int]) throws -> [Float] {
        let network = context.model.network
        let cache = KVCache(shape: network.shape, capacity: ids.count)
        let hidden = FloatBuffer(capacity: 0)
        try network.forward(ids[...], cache: cache, scratch: Scratch(), pool: context.pool, hidden: hidden, outputRows: 1)
        var logits = [Float](repeating: 0, count: network.shape.vocabularySize)
        network.logits(hidden.pointer, rows: 1, pool: context.pool, into: &logits)
        return logits
    }

    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let maximum = Double(logits.max()!)
        let total = logits.reduce(0.0) { $0 + exp(Double($1) - maximum) }
        return logits.map { Double($0) - maximum - log(total) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}
