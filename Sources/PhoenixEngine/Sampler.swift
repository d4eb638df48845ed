#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Picks the next token from a row of logits, as `SamplingParameters` say.
///
/// Not thread-safe: one sampler per generation. Its random numbers come from its own seeded generator,
/// so a seed reproduces a run exactly.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: Xoshiro256

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = Xoshiro256(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// The next token. `logits` is modified (penalties, temperature); `history` holds the tokens so far.
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int]) -> Int {
        applyPenalties(logits, history: history)
        if parameters.isGreedy { return Self.argmax(logits) }

        var candidates = topCandidates(logits)  // (id, logit); most likely first when top-k or top-p needs it
        let best = candidates.lazy.map(\.logit).max()!
        if parameters.topP < 1 {
            // softmax at temperature 1 over the (sorted) candidates, cut where the mass reaches top-p
            let weights = candidates.map { expf($0.logit - best) }
            let total = weights.reduce(0, +)
            var cumulative: Float = 0, keep = candidates.count
            for (i, w) in weights.enumerated() {
                cumulative += w / total
                if cumulative >= parameters.topP { keep = i + 1; break }
            }
            candidates.removeSubrange(keep...)
        }
        if parameters.minP > 0 {
            // p / p_max = exp(logit - best): keep tokens at least min-p times as likely as the best
            let threshold = logf(parameters.minP)
            candidates.removeAll { $0.logit - best < threshold }
        }
        // temperature, then a draw
        let probabilities = candidates.map { expf(($0.logit - best) / parameters.temperature) }
        let total = probabilities.reduce(0, +)
        var target = Float(Double(random.next() >> 11) / Double(1 << 53)) * total
        for (i, p) in probabilities.enumerated() {
            target -= p
            if target < 0 { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    /// The highest logit's id (the lowest id among equals).
    public static func argmax(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }

    private func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int]) {
        let p = parameters
        guard p.penaltyWindow > 0, p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0 else { return }
        var counts: [Int: Int] = [:]
        for id in history.suffix(p.penaltyWindow) where id >= 0 && id < logits.count { counts[id, default: 0] += 1 }
        for (id, count) in counts {
            var logit = logits[id]
            if p.repetitionPenalty != 1 { logit = logit > 0 ? logit / p.repetitionPenalty : logit * p.repetitionPenalty }
            logit -= Float(count) * p.frequencyPenalty + p.presencePenalty
            logits[id] = logit
        }
    }

    /// The top-k candidates (all when k is 0). Sorted by logit, most likely first, when top-k or top-p is
    /// on; with neither, every token is a candidate and sorting 262,144 of them per token is skipped.
    private func topCandidates(_ logits: UnsafeMutableBufferPointer<Float>) -> [(id: Int, logit: Float)] {
        let k = parameters.topK > 0 ? min(parameters.topK, logits.count) : logits.count
        if k == logits.count {
            let all = logits.enumerated().map { (id: $0.offset, logit: $0.element) }
            return parameters.topP < 1 ? all.sorted { $0.logit > $1.logit } : all
        }
        // A running list of the best k, kept sorted: O(n·k) worst case, O(n) for typical small k.
        var best: [(id: Int, logit: Float)] = []
        best.reserveCapacity(k + 1)
        for (id, logit) in logits.enumerated() {
            if best.count == k, logit <= best[k - 1].logit { continue }
            let at = best.firstIndex { logit > $0.logit } ?? best.count
            best.insert((id, logit), at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}

/// xoshiro256** (Blackman and Vigna 2018), seeded through SplitMix64: fast, and the same sequence on
/// every machine for a given seed.
struct Xoshiro256: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }
}
