#if arch(x86_64)
import CPhoenixX86

/// Q2_K's sixteen scales d·sc and its offsets dmin·m, split by unit half: `lowMins[g]` for weights
/// 32g..<32g+16, `highMins[g]` for the next 16.
struct Int16Q2_KHeader {
    var scales: SIMD16<Float>
    var lowMins: SIMD8<Float>
    var highMins: SIMD8<Float>
}

/// Q2_K: 84-byte super-blocks of 256: 16 bytes of a 4-bit scale sc (low nibble) and a 4-bit min m (high
/// nibble) for each 16 weights, 64 bytes of 2-bit codes laid out as Q3_K's low bits (weight 128h + 32s
/// + l in bits 2s..<2s+2 of byte 16 + 32h + l), fp16 d and dmin; w = d·sc·q − dmin·m.
///
/// The only format whose offsets change within a unit: each half of 16 weights has its own, times the
/// activations' sum over that half (`Int16Activations.lowHalfSums`, `highHalfSums`).
enum Int16Q2_K: Int16Format {
    static var blockBytes: Int { 84 }
    static var unitsPerBlock: Int { 8 }
    static var splitScales: Bool { true }
    static var hasMins: Bool { true }
    static var splitMins: Bool { true }

    /// Scale g is byte g's low nibble and min g its high one. Read as eight 16-bit lanes, lane k holds
    /// unit k's two bytes (its halves'), so each half's min is a shift and a mask away.
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Int16Q2_KHeader {
        let bytes = Kernels.load128(block), d = Kernels.half(block, 80), dmin = Kernels.half(block, 82)
        let scales = _mm_and_si128(bytes, _mm_set1_epi8(0x0F))
        @inline(__always) func floats(_ v: __m128i) -> SIMD8<Float> { _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)) }
        @inline(__always) func mins(_ shift: Int32) -> SIMD8<Float> {
            let nibbles = _mm_and_si128(_mm_srli_epi16(bytes, shift), _mm_set1_epi16(0x0F))
            return dmin * _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(nibbles))
        }
        let all = SIMD16(lowHalf: d * floats(scales), highHalf: d * floats(_mm_unpackhi_epi64(scales, scales)))
        return Int16Q2_KHeader(scales: all, lowMins: mins(4), highMins: mins(12))
    }

    @inline(__always)
    static func scales(_ header: Int16Q2_KHeader, _ k: Int) -> (Float, Float) { Int16Q6_K.scales(header.scales, k) }

    @inline(__always)
    static func laneScales(_ header: Int16Q2_KHeader, _ k: Int) -> SIMD8<Float> { Int16Q6_K.laneScales(header.scales, k) }

    @inline(__always)
    static func unitMins(_ header: Int16Q2_KHeader, _ k: Int) -> (Float, Float) { (header.lowMins[k], header.highMins[k]) }

    /// Each half's offset for the eight units at once: dmin·m times the half's activation sum.
    @inline(__always)
    static func offsets(_ header: Int16Q2_KHeader, dx: UnsafePointer<Float>, sums: Int16BlockSums, _ acc: inout SIMD8<Float>) {
        let scales = UnsafeRawPointer(dx).loadUnaligned(as: SIMD8<Float>.self)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Kernels.load256(sums.lowHalf)), header.lowMins * scales, acc)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Kernels.load256(sums.highHalf)), header.highMins * scales, acc)
    }

    /// Units 2p and 2p + 1 (s = 2(p mod 2) and the next, h = p / 2), at even and odd positions: in
    /// 16-bit lanes of the code bytes, unit s's codes are at bits 2s and 8 + 2s.
    @inline(__always)
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit) {
        let codes = Kernels.load256(block + 16 + 32 * (p / 2)), three = _mm256_set1_epi16(3), s = 2 * (p % 2)
        @inline(__always) func unit(_ s: Int) -> Int16Unit {
            Int16Unit(low: _mm256_and_si256(_mm256_srli_epi16(codes, Int32(2 * s)), three),
                      high: _mm256_and_si256(_mm256_srli_epi16(codes, Int32(8 + 2 * s)), three))
        }
        return (unit(s), unit(s + 1))
    }
}
#endif
