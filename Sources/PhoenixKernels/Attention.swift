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
        var j = 0
        let raw = UnsafeMutableRawPointer(scores), vmax = SIMD8<Float>(repeating: maximum)
        var sums = SIMD8<Float>()
        while j + 8 <= keys.count {
            let e = exp(raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - vmax)
            raw.storeBytes(of: e, toByteOffset: 4 * j, as: SIMD8<Float>.self)
            sums += e
            j += 8
        }
        total = sums.sum()
        while j < keys.count {  // tail: fewer than 8 left
            let e = expf(scores[j] - maximum)
            scores[j] = e
            total += e
            j += 1
        }
        out.update(repeating: 0, count: headDim)
        let inverse = 1 / total
        for (j, position) in keys.enumerated() {
            addScaled(valueBase + position * positionStride, scale: scores[j] * inverse, into: out, count: headDim)
        }
    }
}
