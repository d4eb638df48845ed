#if arch(x86_64)
import CPhoenixX86

/// Three weight rows of a panel of 16-bit codes, as `Kernels.int16Tile` reads them: each row's codes
/// ([column]), its units' scales and offset scales ([unit, half]), and where its 16 results go.
public struct WideTileRows {
    public var codes: (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer)
    public var scales: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)
    public var mins: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)
    public var results: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)

    public init(codes: (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer),
                scales: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
                mins: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
                results: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)) {
        self.codes = codes
        self.scales = scales
        self.mins = mins
        self.results = results
    }
}

/// A group of 16 tokens as `Kernels.int16Tile` reads it: each column pair's 16 pairs of values, and
/// each unit's 16 scales and offsets (of the whole unit, and of its halves for Q2_K).
public struct WideTileTokens {
    public var pairs: UnsafeRawPointer
    public var scales: UnsafePointer<Float>
    public var offsets: UnsafePointer<Float>
    public var lowOffsets: UnsafePointer<Float>
    public var highOffsets: UnsafePointer<Float>

    public init(pairs: UnsafeRawPointer, scales: UnsafePointer<Float>, offsets: UnsafePointer<Float>,
                lowOffsets: UnsafePointer<Float>, highOffsets: UnsafePointer<Float>) {
        self.pairs = pairs
        self.scales = scales
        self.offsets = offsets
        self.lowOffsets = lowOffsets
        self.highOffsets = highOffsets
    }
}

extension WideKernels {
    /// `Kernels.int16Tile` with the 16 tokens of the group in one 512-bit register instead of two 256-bit
    /// ones, and each code pair's multiply and add in one `vpdpwssd` (AVX-512 VNNI), which adds the two
    /// products to the lane's sum in 32-bit integers exactly as `vpmaddwd` and `vpaddd` do. Every token's
    /// lane goes through the same steps in the same order, so the results are the 256-bit tile's bits.
    ///
    /// `splitScales`: each half of a unit has its own scale (Q6_K, Q3_K); `hasMins`: the weights carry
    /// offsets; `splitMins`: one per half (Q2_K).
    @inline(never)
    public static func int16Tile(_ rows: WideTileRows, _ tokens: WideTileTokens, units: Int,
                                 splitScales: Bool, hasMins: Bool, splitMins: Bool) {
        var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps()
        let halves = splitScales ? 2 : 1, pairsPerHalf = 16 / halves
        for u in 0..<units {
            for h in 0..<halves {
                var i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512(), i2 = _mm512_setzero_si512()
                for p in 16 * u + pairsPerHalf * h..<16 * u + pairsPerHalf * (h + 1) {
                    let x = _mm512_loadu_si512(tokens.pairs + 64 * p)
                    i0 = _mm512_dpwssd_epi32(i0, _mm512_set1_epi32(rows.codes.0.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self)), x)
                    i1 = _mm512_dpwssd_epi32(i1, _mm512_set1_epi32(rows.codes.1.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self)), x)
                    i2 = _mm512_dpwssd_epi32(i2, _mm512_set1_epi32(rows.codes.2.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self)), x)
                }
                let s = _mm512_loadu_ps(tokens.scales + 16 * u), k = 2 * u + h
                f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(_mm512_set1_ps(rows.scales.0[k]), s), f0)
                f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(_mm512_set1_ps(rows.scales.1[k]), s), f1)
                f2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i2), _mm512_mul_ps(_mm512_set1_ps(rows.scales.2[k]), s), f2)
            }
            // The offsets: the unit's (its first half's and then its second's, for Q2_K).
            for h in 0..<(hasMins ? (splitMins ? 2 : 1) : 0) {
                let offsets = splitMins ? (h == 0 ? tokens.lowOffsets : tokens.highOffsets) : tokens.offsets
                let o = _mm512_loadu_ps(offsets + 16 * u), k = 2 * u + h
                f0 = _mm512_fmadd_ps(_mm512_set1_ps(-rows.mins.0[k]), o, f0)
                f1 = _mm512_fmadd_ps(_mm512_set1_ps(-rows.mins.1[k]), o, f1)
                f2 = _mm512_fmadd_ps(_mm512_set1_ps(-rows.mins.2[k]), o, f2)
            }
        }
        _mm512_storeu_ps(rows.results.0, f0)
        _mm512_storeu_ps(rows.results.1, f1)  // a repeated row stores the same values again
        _mm512_storeu_ps(rows.results.2, f2)
    }
}
#endif
