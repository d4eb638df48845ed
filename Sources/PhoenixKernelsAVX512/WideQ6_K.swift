#if arch(x86_64)
import CPhoenixX86

extension WideKernels {
    /// Q6_K (210-byte super-blocks of 256: 128 bytes of low nibbles, 64 of high bit pairs, 16 signed
    /// scales, fp16 d; w = d · scale · (code − 32), a scale for each 16 weights).
    @inline(never)
    public static func q6_K(_ a: RowPairs) {
        @inline(__always) func addBlock(_ rows: RowPair, _ b: Int, _ sums: inout Accumulators) {
            let block0 = rows.first + b * 210, block1 = rows.second + b * 210, u = 8 * b
            // d times each scale, as the 256-bit kernel's header: scales 0..<8 of both rows (low
            // 256 bits the first row's), and 8..<16.
            @inline(__always) func headerScales(_ block: UnsafeRawPointer) -> __m512 {
                _mm512_mul_ps(_mm512_set1_ps(phoenix_half(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self))),
                              _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(load128(block + 192))))
            }
            let scales0 = headerScales(block0), scales1 = headerScales(block1)
            let lowScales = _mm512_permutex2var_ps(scales0, _mm512_set_epi32(23, 22, 21, 20, 19, 18, 17, 16, 7, 6, 5, 4, 3, 2, 1, 0), scales1)
            let highScales = _mm512_permutex2var_ps(scales0, _mm512_set_epi32(31, 30, 29, 28, 27, 26, 25, 24, 15, 14, 13, 12, 11, 10, 9, 8), scales1)
            // Unit k's scales per lane: 2k for its first 16 weights (lanes 0..<4 of each row),
            // 2k + 1 for the rest, times the token's block scale.
            @inline(__always) func unitScale(_ k: Int) -> __m512 {
                let i = Int32(2 * (k % 4)), j = i + 8
                let lanes = _mm512_permutexvar_ps(_mm512_set_epi32(j + 1, j + 1, j + 1, j + 1, j, j, j, j,
                                                                   i + 1, i + 1, i + 1, i + 1, i, i, i, i),
                                                  k < 4 ? lowScales : highScales)
                return _mm512_mul_ps(lanes, _mm512_set1_ps(a.scales[u + k]))
            }
            @inline(__always) func add(_ even: __m512i, _ odd: __m512i, _ k: Int) {
                sums.products = _mm512_fmadd_ps(_mm512_cvtepi32_ps(unitSums(even, odd, a.values + 64 * (u + k))), unitScale(k),
                                                sums.products)
            }
            // Units 4h..<4h+4 from bytes 64h..<64h+64 (nibbles) and 128+32h..<160+32h (bit pairs), in
            // 16-bit lanes: lane j holds position 2j in bits 0..<8 and 2j + 1 in bits 8..<16.
            for h in 0..<2 {
                @inline(__always) func both(_ offset: Int) -> __m512i {
                    _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(load256(block0 + offset)), 0xF0, load256(block1 + offset))
                }
                let low = both(64 * h), high = both(64 * h + 32), bits = both(128 + 32 * h)
                let nibble = _mm512_set1_epi16(0x0F), bits45 = _mm512_set1_epi16(0x30), offset = _mm512_set1_epi16(32)
                @inline(__always) func code(_ nibbles: __m512i, _ top: __m512i) -> __m512i {
                    _mm512_sub_epi16(_mm512_or_si512(nibbles, _mm512_and_si512(top, bits45)), offset)
                }
                add(code(_mm512_and_si512(low, nibble), _mm512_slli_epi16(bits, 4)),
                    code(_mm512_and_si512(_mm512_srli_epi16(low, 8), nibble), _mm512_srli_epi16(bits, 4)), 4 * h)
                add(code(_mm512_and_si512(high, nibble), _mm512_slli_epi16(bits, 2)),
                    code(_mm512_and_si512(_mm512_srli_epi16(high, 8), nibble), _mm512_srli_epi16(bits, 6)), 4 * h + 1)
                add(code(_mm512_and_si512(_mm512_srli_epi16(low, 4), nibble), bits),
                    code(_mm512_srli_epi16(low, 12), _mm512_srli_epi16(bits, 8)), 4 * h + 2)
                add(code(_mm512_and_si512(_mm512_srli_epi16(high, 4), nibble), _mm512_srli_epi16(bits, 2)),
                    code(_mm512_srli_epi16(high, 12), _mm512_srli_epi16(bits, 10)), 4 * h + 3)
            }
        }
        forEachRowPair(a, addBlock)
    }
}
#endif
