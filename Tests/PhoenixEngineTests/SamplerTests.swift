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

    /// At temperature 1 with no filters, draws over a row that is not a multiple of eight long follow the
    /// softmax too, and a NaN logit is never drawn.
    @Test func drawsOverALongerRowFollowTheSoftmax() {
        var logits: [Float] = (0..<13).map { Float($0 % 5) - 2 }
        logits[6] = .nan
        var p = SamplingParameters(); p.temperature = 1; p.seed = 11
        var sampler = Sampler(p)
        var counts = [Int](repeating: 0, count: logits.count)
        let n = 30_000
        for _ in 0..<n { var l = logits; counts[l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) }] += 1 }
        #expect(counts[6] == 0)
        let weights = logits.map { $0.isNaN ? 0 : exp(Double($0)) }, total = weights.reduce(0, +)
        for i in logits.indices where !logits[i].isNaN {
            let expected = Double(n) * weights[i] / total
            #expect(abs(Double(counts[i]) - expected) < 5 * expected.squareRoot() + 5, "token \(i): \(counts[i]) vs \(expected)")
        }
    }

    /// A vocabulary-sized row: a few likely tokens over a long tail (`peaked`), or a tail so flat that
    /// top-p's set reaches far below the best (`flat`).
    static func vocabularyRow(flat: Bool, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var logits = rng.floats(20_000, in: flat ? -3...3 : -14...2)
        for i in 0..<12 { logits[Int(rng.next() % 20_000)] = flat ? 5 + Float(i) / 4 : 4 + Float(i) / 2 }
        logits[17] = logits[18_001]  // a tie
        return logits
    }

    /// What top-k and top-p keep, worked out here by ranking every token (the lower id first among
    /// equals) and a softmax in double precision; and the next token in rank, which rounding in single
    /// precision may keep too where top-p's cut falls close to it.
    static func keptByRanking(_ logits: [Float], topK: Int, topP: Double) -> (kept: Set<Int>, next: Int?) {
        var ranked = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if topK > 0 { ranked = Array(ranked.prefix(topK)) }
        guard topP < 1 else { return (Set(ranked), nil) }
        let best = Double(logits[ranked[0]])
        let weights = ranked.map { exp(Double(logits[$0]) - best) }, total = weights.reduce(0, +)
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            cumulative += w / total
            if cumulative >= topP { return (Set(ranked.prefix(i + 1)), i + 1 < ranked.count ? ranked[i + 1] : nil) }
        }
        return (Set(ranked), nil)
    }

    /// At a temperature so high that every kept token is about as likely as another, the draws stay
    /// within what ranking every token keeps and, where that is a few tokens, reach each of them.
    @Test(arguments: [false, true])
    func topKAndTopPKeepWhatRankingEveryTokenKeeps(flat: Bool) throws {
        let logits = Self.vocabularyRow(flat: flat, seed: flat ? 21 : 22)
        for (topK, topP) in [(0, 0.5), (0, 0.9), (0, 0.97), (5, 1.0), (40, 1.0), (40, 0.9), (3_000, 0.95)] {
            let (kept, next) = Self.keptByRanking(logits, topK: topK, topP: topP)
            var p = SamplingParameters(); p.temperature = 1_000; p.topK = topK; p.topP = Float(topP); p.seed = 5
            var sampler = Sampler(p)
            var drawn = Set<Int>()
            for _ in 0..<600 {
                var l = logits
                drawn.insert(l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) })
            }
            let beyond = drawn.subtracting(kept).subtracting(next.map { [$0] } ?? [])
            #expect(beyond.isEmpty, "top-k \(topK), top-p \(topP): drew \(beyond.sorted().prefix(5)) of \(beyond.count)")
            if kept.count <= 40 {
                #expect(drawn.isSuperset(of: kept), "top-k \(topK), top-p \(topP): \(drawn.count) of \(kept.count)")
            } else {
                #expect(drawn.count > 300, "top-k \(topK), top-p \(topP): \(drawn.count) of \(kept.count)")
            }
        }
    }

    /// Top-k among equal logits keeps the lower ids, as a stable ranking does.
    @Test func topKBreaksTiesByTheLowerID() {
        var logits = [Float](repeating: 0, count: 21)
        for id in [3, 7, 11, 19] { logits[id] = 5 }
        var p = SamplingParameters(); p.temperature = 1_000; p.topK = 2; p.seed = 3
        var sampler = Sampler(p)
        var drawn = Set<Int>()
        for _ in 0..<200 { var l = logits; drawn.insert(l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) }) }
        #expect(drawn == [3, 7])
    }

    /// Top-k from a row where thousands of tokens are near the best, and six tie for it: the five with
    /// the lowest ids.
    @Test func topKOfAFlatRow() {
        var rng = SplitMix64(seed: 31)
        var logits = rng.floats(20_000, in: -1...1)
        for id in [100, 50, 19_999, 7, 12_000, 3] { logits[id] = 1.5 }
        for topP: Float in [1, 0.99] {
            var p = SamplingParameters(); p.temperature = 1_000; p.topK = 5; p.topP = topP; p.seed = 4
            var sampler = Sampler(p)
            var drawn = Set<Int>()
            for _ in 0..<300 { var l = logits; drawn.insert(l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) }) }
            #expect(drawn == [3, 7, 50, 100, 12_000], "top-p \(topP)")
        }
    }

    @Test func minPAloneKeepsTheTokensAtLeastMinPAsLikelyAsTheBest() {
        let logits = Self.vocabularyRow(flat: false, seed: 23)
        let best = logits.max()!
        let kept = Set(logits.indices.filter { exp(Double(logits[$0] - best)) >= 0.05 })
        var p = SamplingParameters(); p.temperature = 1_000; p.minP = 0.05; p.seed = 9
        var sampler = Sampler(p)
        var drawn = Set<Int>()
        for _ in 0..<1_000 { var l = logits; drawn.insert(l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) }) }
        #expect(kept.count > 3 && kept.count < 40)
        #expect(drawn == kept)
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
        #expect(Self.draw(f, logits, history: [2, -1, 10, 2, 1_000, 2]) == 5)  // ids outside the row are passed over
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

