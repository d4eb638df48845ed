#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
    /// One query head attending to cached positions `keys.lowerBound..<keys.upperBound`:
    /// out = Σ_j softmax_j(scale · q·k_j) · v_j.
    ///
    /// `keyBase`/`valueBase` point at position 0 of this head's kv head; consecutive positions are
    /// `positionStride` floats apart. `scores` is scratch for `keys.count` floats.
    public static func attend(query: UnsafePointer<Float>, keyBase: UnsafePointer<Float>, valueBase: UnsafePointer<Float>,
                              positionStride: Int, keys: Range<Int>, headDim: Int, scale: Float,
                              scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var maximum = -Float.infinity
        for (j, position) in keys.enumerated() {
            let s = dot(query, keyBase + position * positionStride, count: headDim) * scale
            scores[j] = s
            maximum = max(maximum, s)
        }
        var total: Float = 0
        for j in 0..<keys.count {
            let e = expf(scores[j] - maximum)
            scores[j] = e
            total += e
        }
        out.update(repeating: 0, count: headDim)
        let inverse = 1 / total
        for (j, position) in keys.enumerated() {
            addScaled(valueBase + position * positionStride, scale: scores[j] * inverse, into: out, count: headDim)
        }
    }
}
