#if arch(x86_64)
import CPhoenixX86

/// Q3_K: 110-byte super-blocks of 256: 32 bytes of high bits, 64 bytes of low bit pairs, 12 bytes of
/// sixteen 6-bit scales sc + 32 (one per 16 weights), fp16 d. Weight 128h + 32s + l, of unit u = 4h + s,
/// is q = low + 4·high − 4 in −4...3, with low = bits 2s..<2s+2 of byte 32 + 32h + l and high = bit u of
/// byte l; w = d·(sc − 32)·q.
enum Int16Q3_K: Int16SixteenScalesFormat {
    static var blockBytes: Int { 110 }

    /// d·(sc − 32) for the 16 scales. Scale g keeps its low four bits in byte g (g < 8) or the high
    /// nibble of byte g − 8, and its top two in bits 2(g / 4) and 2(g / 4) + 1 of byte 8 + g % 4 (of the
    /// 12 at byte 96): unpacked eight bytes at a time in 64-bit words.
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> SIMD16<Float> {
        let nibbles = block.loadUnaligned(fromByteOffset: 96, as: UInt64.self)
        let tops = UInt64(block.loadUnaligned(fromByteOffset: 104, as: UInt32.self))
        let pairs: UInt64 = 0x0303_0303, low4: UInt64 = 0x0F0F_0F0F_0F0F_0F0F
        let first = nibbles & low4 | ((tops & pairs) | ((tops >> 2) & pairs) << 32) << 4
        let second = (nibbles >> 4) & low4 | (((tops >> 4) & pairs) | ((tops >> 6) & pairs) << 32) << 4
        let d = Kernels.half(block, 108)
        @inline(__always) func scales(_ bytes: UInt64) -> SIMD8<Float> {
            d * _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: bytes))),
                                                    _mm256_set1_epi32(32)))
        }
        return SIMD16(lowHalf: scales(first), highHalf: scales(second))
    }

    /// Units 2p and 2p + 1 (s = 2(p mod 2) and the next, h = p / 2), at even and odd positions. In 16-bit
    /// lanes, lane j holds byte 2j in bits 0..<8 and byte 2j + 1 in bits 8..<16, so each piece is a
    /// shift and a mask away, as for Q6_K.
    @inline(__always)
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit) {
        let h = p / 2, lows = Kernels.load256(block + 32 + 32 * h), highs = Kernels.load256(block)
        let three = _mm256_set1_epi16(3), four = _mm256_set1_epi16(4)
        @inline(__always) func shifted(_ v: __m256i, right n: Int) -> __m256i {
            n >= 0 ? _mm256_srli_epi16(v, Int32(n)) : _mm256_slli_epi16(v, Int32(-n))
        }
        // Unit u = 4h + s: its low bits at lane bit 2s (even positions) and 8 + 2s (odd), its high bit
        // at lane bit u and 8 + u, moved to bit 2.
        @inline(__always) func unit(_ s: Int) -> Int16Unit {
            let u = 4 * h + s
            @inline(__always) func codes(_ byte: Int) -> __m256i {
                let low = _mm256_and_si256(shifted(lows, right: 8 * byte + 2 * s), three)
                let high = _mm256_and_si256(shifted(highs, right: 8 * byte + u - 2), four)
                return _mm256_sub_epi16(_mm256_or_si256(low, high), four)
            }
            return Int16Unit(low: codes(0), high: codes(1))
        }
        let s = 2 * (p % 2)
        return (unit(s), unit(s + 1))
    }
}
#endif
