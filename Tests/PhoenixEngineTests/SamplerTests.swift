import Foundation
import PhoenixEngine
import PhoenixTestSupport
import Testing

@Suite struct SamplerTests {
    static func logits(seed: UInt64, count: Int = 500) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return rng.floats(count, in: -5...5)
    }

    static func draw(_ parameters: SamplingParameters, _ logits: [Float], history: [Int] = []) -> Int {
        var sampler = Sampler(parameters)
        var copy = logits
        return copy.withUnsafeMutableBufferPointer { sampler.sample($0, history: history) }
    }

    @Test func greedyTakesTheLargestLogit() {
        var logits = Self.logits(seed: 1)
        logits[123] = 9
        #expect(Self.draw(.greedy, logits) == 123)
    }

    @Test func aSeedReproducesASequence() {
        var p = SamplingParameters()
        p.temperature = 1.2
        p.seed = 42
        let logits = Self.logits(seed: 2)
        var a = Sampler(p), b = Sampler(p)
        let drawA = (0..<50).map { _ in var l = logits; return l.withUnsafeMutableBufferPointer { a.sample($0, history: []) } }
        let drawB = (0..<50).map { _ in var l = logits; return l.withUnsafeMutableBufferPointer { b.sample($0, history: []) } }
        #expect(drawA == drawB)
        #expect(Set(drawA).count > 5, "temperature 1.2 over 500 tokens should not always pick the same few")
    }

    @Test func topKOneAndTinyTopPAreGreedy() {
        let logits = Self.logits(seed: 3)
        let best = Self.draw(.greedy, logits)
        for seed in 0..<20 as Range<UInt64> {
            var k = SamplingParameters(); k.temperature = 1; k.topK = 1; k.seed = seed
            var p = SamplingParameters(); p.temperature = 1; p.topP = 1e-6; p.seed = seed
            var m = SamplingParameters(); m.temperature = 1; m.minP = 1; m.seed = seed
            #expect(Self.draw(k, logits) == best && Self.draw(p, logits) == best && Self.draw(m, logits) == best)
        }
    }

    @Test func topKOnlyReturnsTheKBest() {
        let logits = Self.logits(seed: 4)
        let best5 = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5))
        for seed in 0..<200 as Range<UInt64> {
            var p = SamplingParameters(); p.temperature = 5; p.topK = 5; p.seed = seed
            #expect(best5.contains(Self.draw(p, logits)))
        }
    }

    /// At temperature 1 with no filters, draw frequencies follow softmax(logits) (a chi-square-style
    /// bound on a 4-token distribution over 20,000 draws).
    @Test func drawsFollowTheSoftmax() {
        let logits: [Float] = [0, 1, 2, -1]
        var p = SamplingParameters(); p.temperature = 1; p.seed = 7
        var sampler = Sampler(p)
        var counts = [0, 0, 0, 0]
        let n = 20_000
        for _ in 0..<n { var l = logits; counts[l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) }] += 1 }
        let weights = logits.map { exp(Double($0)) }, total = weights.reduce(0, +)
        for i in 0..<4 {
            let expected = Double(n) * weights[i] / total
            #expect(abs(Double(counts[i]) - expected) < 5 * expected.squareRoot() + 5, "token \(i): \(counts[i]) vs \(expected)")
        }
    }

    @Test func penaltiesLowerSeenTokens() {
        var logits = [Float](repeating: 0, count: 10)
        logits[2] = 3; logits[5] = 2.9
        var p = SamplingParameters(); p.repetitionPenalty = 1.5
        #expect(Self.draw(p, logits, history: [2]) == 5)       // 3 / 1.5 = 2 < 2.9
        var q = SamplingParameters(); q.presencePenalty = 0.5
        #expect(Self.draw(q, logits, history: [2]) == 5)
        var f = SamplingParameters(); f.frequencyPenalty = 0.05
        #expect(Self.draw(f, logits, history: [2]) == 2)       // one occurrence: 2.95 > 2.9
        #expect(Self.draw(f, logits, history: [2, 2, 2]) == 5) // three: 2.85 < 2.9
        var w = SamplingParameters(); w.repetitionPenalty = 1.5; w.penaltyWindow = 1
        #expect(Self.draw(w, logits, history: [2, 7]) == 2)    // 2 is outside the window
    }

    @Test func outOfRangeParametersAreRejected() {
        var options = GenerateOptions()
        options.maxTokens = 0
        #expect(throws: EngineError.invalidParameter("max tokens must be at least 1, got 0")) { try options.validate() }
        for edit: (inout SamplingParameters) -> Void in [
            { $0.temperature = -1 }, { $0.temperature = .nan }, { $0.topK = -2 }, { $0.topP = 0 }, { $0.topP = 1.5 },
            { $0.minP = 2 }, { $0.repetitionPenalty = 0 }, { $0.presencePenalty = 3 }, { $0.frequencyPenalty = -3 },
        ] {
            var p = SamplingParameters()
            edit(&p)
            #expect(throws: EngineError.self) { try p.validate() }
        }
    }
}

