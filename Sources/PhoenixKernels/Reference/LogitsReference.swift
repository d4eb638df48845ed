#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The definitions of the sampler's passes over a row of logits (`Kernels.largestLogit` and the rest),
/// one logit at a time, sums in double precision.
extension Reference {
    public static func largestLogit(_ logits: UnsafeBufferPointer<Float>) -> (index: Int, value: Float) {
        var best: Int?
        for (i, logit) in logits.enumerated() where !logit.isNaN {
            if best == nil || logit > logits[best!] { best = i }
        }
        return best.map { ($0, logits[$0]) } ?? (0, -.infinity)
    }

    public static func exponentialSum(_ logits: UnsafeBufferPointer<Float>, maximum: Float, scale: Float) -> Float {
        Float(logits.reduce(0) { $0 + term($1, maximum, scale) })
    }

    public static func drawnIndex(_ logits: UnsafeBufferPointer<Float>, maximum: Float, scale: Float,
                                  target: Float) -> Int? {
        var running: Double = 0
        for (i, logit) in logits.enumerated() {
            running += term(logit, maximum, scale)
            if running > Double(target) { return i }
        }
        return nil
    }

    public static func indices(_ logits: UnsafeBufferPointer<Float>, atLeast threshold: Float,
                               into indices: UnsafeMutablePointer<Int32>) -> Int {
        var found = 0
        for (i, logit) in logits.enumerated() where logit >= threshold {
            indices[found] = Int32(i)
            found += 1
        }
        return found
    }

    public static func largestLogits(_ logits: UnsafeBufferPointer<Float>, count: Int,
                                     into indices: UnsafeMutablePointer<Int32>) -> Int {
        let ranked = logits.indices.filter { !logits[$0].isNaN }
            .sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        for (place, i) in ranked.prefix(max(0, count)).enumerated() { indices[place] = Int32(i) }
        return min(max(0, count), ranked.count)
    }

    /// Below e^−87 a term counts as nothing, as in the kernels.
    private static func term(_ logit: Float, _ maximum: Float, _ scale: Float) -> Double {
        let exponent = (Double(logit) - Double(maximum)) * Double(scale)
        return logit.isNaN || exponent < -87 ? 0 : exp(exponent)
    }
}
