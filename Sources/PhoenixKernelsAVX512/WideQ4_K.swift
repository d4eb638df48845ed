#if arch(x86_64)
import CPhoenixX86
import PhoenixQuant

extension WideKernels {
    /// Q4_K (144-byte super-blocks of 256: fp16 d and dmin, 12 bytes of 6-bit scales and mins for the
    /// eight units, 128 bytes of nibbles; w = d·scale·q − dmin·min).
    @inline(never)
    public static func q4_K(_ a: RowPairs) {
        let nibble = _mm512_set1_epi16(0x0F)
        @inline(__always) func addBlock(_ rows: RowPair, _ b: Int, _ sums: inout Accumulators) {
            let block0 = rows.first + b * 144, block1 = rows.second + b * 144, u = 8 * b
            // The units' scales and mins as the 256-bit kernel's header unpacks them: the eight bytes
            // of each, the first row's in lanes 0..<8.
            let (scales0, mins0) = BlockQ4_K.packedScalesAndMins(block0), (scales1, mins1) = BlockQ4_K.packedScalesAndMins(block1)
            @inline(__always) func floats(_ low: UInt64, _ high: UInt64) -> __m512 {
                _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x(Int64(bitPattern: high), Int64(bitPattern: low))))
            }
            @inline(__always) func both(_ offset: Int) -> __m512 {
                _mm512_mask_broadcastss_ps(_mm512_set1_ps(phoenix_half(block0.loadUnaligned(fromByteOffset: offset, as: UInt16.self))),
                                           0xFF00, _mm_set_ss(phoenix_half(block1.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
            }
            let dx = _mm512_broadcast_f32x8(_mm256_loadu_ps(a.scales + u))
            // Offsets first, in their own accumulators: Σq of unit g times dmin·min[g] · dx[g].
            let sumFloats = _mm512_cvtepi32_ps(_mm512_broadcast_i64x4(load256(UnsafeRawPointer(a.sums + u))))
            sums.offsets = _mm512_fmadd_ps(sumFloats, _mm512_mul_ps(_mm512_mul_ps(both(2), floats(mins0, mins1)), dx),
                                           sums.offsets)
            let products = _mm512_mul_ps(_mm512_mul_ps(both(0), floats(scales0, scales1)), dx)
            @inline(__always) func add(_ even: __m512i, _ odd: __m512i, _ k: Int) {
                let k32 = Int32(k), scale = _mm512_permutexvar_ps(_mm512_set_epi32(
                    k32 + 8, k32 + 8, k32 + 8, k32 + 8, k32 + 8, k32 + 8, k32 + 8, k32 + 8,
                    k32, k32, k32, k32, k32, k32, k32, k32), products)
                sums.products = _mm512_fmadd_ps(_mm512_cvtepi32_ps(unitSums(even, odd, a.values + 64 * (u + k))), scale,
                                                sums.products)
            }
            // Units 2c and 2c + 1 from bytes 16 + 32c..<48 + 32c, low and high nibbles; in 16-bit lanes,
            // lane j holds position 2j in bits 0..<8 and 2j + 1 in bits 8..<16.
            for c in 0..<4 {
                let codes = _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(load256(block0 + 16 + 32 * c)), 0xF0,
                                                        load256(block1 + 16 + 32 * c))
                add(_mm512_and_si512(codes, nibble), _mm512_and_si512(_mm512_srli_epi16(codes, 8), nibble), 2 * c)
                add(_mm512_and_si512(_mm512_srli_epi16(codes, 4), nibble), _mm512_srli_epi16(codes, 12), 2 * c + 1)
            }
        }
        forEachRowPair(a, addBlock)
    }
}
#endif
