#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PhoenixKernels

/// Picks the next token from a row of logits, as `SamplingParameters` say.
///
/// Not thread-safe: one sampler per generation. Its random numbers come from its own seeded generator,
/// so a seed reproduces a run exactly. Its buffers are kept from token to token, so once they have grown
/// a draw allocates nothing but what sorting a long list of candidates takes.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: Xoshiro256
    /// Candidate token ids, most likely first once ranked.
    private var candidates: [Int32] = []
    /// The candidates' weights for the draw.
    private var weights: [Float] = []
    /// The penalty window's tokens, sorted.
    private var window: [Int] = []

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = Xoshiro256(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// The next token. `logits` is modified (penalties); `history` holds the tokens so far.
    ///
    /// The order is llama.cpp's default chain: penalties, top-k, top-p (at temperature 1), min-p,
    /// temperature, then a draw. Only the tokens within a few logits of the best are ever ranked: top-k
    /// and top-p take the most likely tokens first, so the rest never matter once those hold enough
    /// of them (ranking all 262,144 of Gemma's took four fifths of a decode step).
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int]) -> Int {
        applyPenalties(logits, history: history)
        let row = UnsafeBufferPointer(logits)
        let (bestIndex, best) = Kernels.largestLogit(row)
        if parameters.isGreedy || !best.isFinite { return bestIndex }
        let p = parameters
        let ranks = (p.topK > 0 && p.topK < row.count) || p.topP < 1
        if !ranks && p.minP == 0 {
            // Every token is a candidate: drawn straight from the row, without listing them.
            let scale = 1 / p.temperature
            let total = Kernels.exponentialSum(row, maximum: best, scale: scale)
            return Kernels.drawnIndex(row, maximum: best, scale: scale, target: uniform() * total) ?? bestIndex
        }
        if candidates.count < row.count { candidates = Array(repeating: 0, count: row.count) }
        // p / p_max = exp(logit - best): min-p keeps the tokens at least min-p times as likely as the best.
        let threshold = logf(p.minP)
        var count = ranks
            ? rankedCandidates(row, best: best)
            : candidates.withUnsafeMutableBufferPointer {
                // Min-p alone: the tokens it may keep, in id order, with a margin for the subtraction's
                // rounding; the test below decides.
                Kernels.indices(row, atLeast: best + threshold - 1e-3 * max(1, abs(best)), into: $0.baseAddress!)
            }
        if p.minP > 0 {
            var kept = 0
            for i in 0..<count where !(row[Int(candidates[i])] - best < threshold) {
                candidates[kept] = candidates[i]
                kept += 1
            }
            count = kept
        }
        return draw(row, count: count, best: best)
    }

    /// The highest logit's id (the lowest id among equals).
    public static func argmax(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        Kernels.largestLogit(UnsafeBufferPointer(logits)).index
    }

    /// A uniform draw from [0, 1).
    private mutating func uniform() -> Float {
        Float(Double(random.next() >> 11) / Double(1 << 53))
    }

    /// Temperature, then a draw from the first `count` candidates.
    private mutating func draw(_ row: UnsafeBufferPointer<Float>, count: Int, best: Float) -> Int {
        guard count > 0 else { return Kernels.largestLogit(row).index }
        if weights.count < count { weights = Array(repeating: 0, count: max(count, 2 * weights.count)) }
        var total: Float = 0
        for i in 0..<count {
            weights[i] = expf((row[Int(candidates[i])] - best) / parameters.temperature)
            total += weights[i]
        }
        var target = uniform() * total
        for i in 0..<count {
            target -= weights[i]
            if target < 0 { return Int(candidates[i]) }
        }
        return Int(candidates[count - 1])
    }

    /// Ranks the candidates top-k and top-p keep into `candidates`, most likely first (ties: the lower
    /// id first), and returns how many they keep. The tokens at least `best − gap` are ranked, the gap
    /// widening until they include the k best, or the smallest set whose probability reaches top-p:
    /// every token at least a threshold is in, so ranking them gives the same first places as ranking
    /// them all.
    private mutating func rankedCandidates(_ row: UnsafeBufferPointer<Float>, best: Float) -> Int {
        let p = parameters
        let limited = p.topK > 0 && p.topK < row.count
        // Top-p's softmax is over the top-k when there is one, else over every token.
        let total = !limited && p.topP < 1 ? Kernels.exponentialSum(row, maximum: best, scale: 1) : 0
        var gap: Float = 4
        while true {
            let widest = gap > 64
            var count = candidates.withUnsafeMutableBufferPointer {
                Kernels.indices(row, atLeast: widest ? -.infinity : best - gap, into: $0.baseAddress!)
            }
            if !widest {
                if limited && count < p.topK { gap *= 2; continue }
                if !limited && mass(row, count: count, best: best) < p.topP * total { gap *= 2; continue }
            }
            if limited && p.topK <= 64 && count > 4 * p.topK {
                count = keepBest(p.topK, of: count, row)  // a flat row: many near the best, few wanted
            } else {
                candidates.withUnsafeMutableBufferPointer { buffer in
                    var ranked = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
                    ranked.sort { a, b in
                        let x = row[Int(a)], y = row[Int(b)]
                        return x > y || (x == y && a < b)
                    }
                }
                if limited { count = min(count, p.topK) }
            }
            guard p.topP < 1 else { return count }
            if let kept = nucleus(row, count: count, best: best, total: limited ? mass(row, count: count, best: best) : total) {
                return kept
            }
            // Rounding kept the sum of the ranked ones short of top-p: rank more, unless these are all.
            if !limited && !widest { gap *= 2; continue }
            return count
        }
    }

    /// Leaves the `k` most likely of the first `count` candidates (in id order) at the front, most likely
    /// first, and returns how many that is: a running list of the best (`Kernels.offerLogit`), each
    /// newcomer placed after its equals. Candidate i is read before the list, which never reaches beyond
    /// i, is written.
    private mutating func keepBest(_ k: Int, of count: Int, _ row: UnsafeBufferPointer<Float>) -> Int {
        var kept = 0, floor = -Float.infinity
        candidates.withUnsafeMutableBufferPointer { list in
            for i in 0..<count {
                Kernels.offerLogit(Int(list[i]), row.baseAddress!, k, list.baseAddress!, &kept, &floor)
            }
        }
        return kept
    }

    /// How many of the ranked candidates top-p keeps: the fewest whose softmax (at temperature 1, over
    /// `total`) reaches it; nil when all `count` do not.
    private func nucleus(_ row: UnsafeBufferPointer<Float>, count: Int, best: Float, total: Float) -> Int? {
        var cumulative: Float = 0
        for i in 0..<count {
            cumulative += expf(row[Int(candidates[i])] - best) / total
            if cumulative >= parameters.topP { return i + 1 }
        }
        return nil
    }

    /// Σ e^(logit − best) over the first `count` candidates, in their order.
    private func mass(_ row: UnsafeBufferPointer<Float>, count: Int, best: Float) -> Float {
        var sum: Float = 0
        for i in 0..<count { sum += expf(row[Int(candidates[i])] - best) }
        return sum
    }

    private mutating func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int]) {
        let p = parameters
        guard p.penaltyWindow > 0, p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0 else { return }
        window.removeAll(keepingCapacity: true)
        for id in history.suffix(p.penaltyWindow) where id >= 0 && id < logits.count { window.append(id) }
        window.sort()
        // Each distinct token once, with how often it occurs: a run of the sorted window.
        var start = 0
        while start < window.count {
            let id = window[start]
            var end = start + 1
            while end < window.count && window[end] == id { end += 1 }
            var logit = logits[id]
            if p.repetitionPenalty != 1 { logit = logit > 0 ? logit / p.repetitionPenalty : logit * p.repetitionPenalty }
            logit -= Float(end - start) * p.frequencyPenalty + p.presencePenalty
            logits[id] = logit
            start = end
        }
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
