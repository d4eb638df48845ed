/// exp, tanh and friends eight lanes at a time, for the activations and the attention softmax, where
/// libm's scalar `expf` / `tanhf` took a fifth of prompt processing.
extension Kernels {
    /// e^x for each lane, accurate to about 2 ulp over the float range (Cephes' expf: x = n·ln2 + r with
    /// |r| ≤ ln2/2, a degree-6 polynomial for e^r, then n added to the exponent). Inputs are clamped to
    /// [-87.3, 88.3], where e^x stays a normal float.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2^23: adding it rounds to an integer
        let clamped = clamp(x, -87.3, 88.3)
        let shifted = clamped * 1.442_695_04 + magic      // n + 1.5·2^23, n = round(x / ln 2)
        let n = shifted - magic
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_40e-4  // x - n·ln2, ln2 split in two parts
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_91e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * r * r + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000) &<< 23
        return unsafeBitCast(unsafeBitCast(er, to: SIMD8<Int32>.self) &+ exponent, to: SIMD8<Float>.self)
    }

    /// Each lane of `x` limited to lower...upper, a NaN left as it is: what `pointwiseMax(pointwiseMin(x,
    /// upper), lower)` computes, written with the comparisons those two are made of, because the compiler
    /// left them as two calls in the hot loops (1–2% of a prompt pass).
    @inlinable @inline(__always)
    static func clamp(_ x: SIMD8<Float>, _ lower: Float, _ upper: Float) -> SIMD8<Float> {
        let high = SIMD8<Float>(repeating: upper), low = SIMD8<Float>(repeating: lower)
        let belowHigh = x.replacing(with: high, where: high .< x)
        return belowHigh.replacing(with: low, where: belowHigh .< low)
    }

    /// tanh(x) = 1 - 2 / (e^(2x) + 1): absolute error about 1e-7 (relative error grows near 0, where
    /// the GELU that uses it adds 1 anyway).
    @inlinable @inline(__always)
    public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
        1 - 2 / (exp(2 * x) + 1)
    }
}
