#if arch(x86_64)
import CPhoenixX86

extension WideKernels {
    /// Q5_0 in the row-pair layout (`Kernels.Q5_0RowPairs` in PhoenixKernels): `a.rows` holds the pairs'
    /// 44-byte blocks, pair p's from a.rows + 2 · p · a.rowBytes on. The same bits as `q5_0` on GGUF's
    /// layout: the same integers per lane, scaled and summed in the same order.
    ///
    /// Per block and pair of rows, eleven vector instructions against `q5_0`'s fourteen: the 32 bytes of
    /// nibbles widen to 16-bit lanes (both rows, lane m holding codes 2m and 2m + 1), a mask and a shift
    /// split them into even and odd positions, and the fifth bits, stored as the lanes' masks, subtract
    /// 16 where they are clear. With the matrix in the caches (2,048 × 640, one thread, a Zen 5):
    /// 1.22–1.23 times `q5_0`'s rate, 38–39 against 31 GB/s.
    ///
    /// The fp16 scales of the two pairs a pass takes (four, each pair's two side by side) widen in one
    /// `vcvtph2ps` and meet the token's scale in one multiply, and a permute hands each pair its two.
    /// Looked up one at a time in `phoenix_half`'s table, a quarter-megabyte that the caches' first
    /// level cannot hold, and joined by an insert, the kernel ran 0.92 times as fast with the matrix in
    /// the caches (`phoenix bench --kernel-rates -t 1`, six alternations: 35.9–36.7 against 39.0–39.7
    /// GB/s), and a one-thread tg128 0.97 times (eight pairs). The products are the same: d · scale
    /// rounds once either way.
    @inline(never)
    public static func q5_0RowPairs(_ a: RowPairs) {
        // The block's integer sums for both rows, as floats.
        @inline(__always) func sums(_ block: UnsafeRawPointer, _ b: Int) -> __m512 {
            let bytes = _mm512_cvtepu8_epi16(load256(block + 12))
            let low = phoenix_opaque512(_mm512_and_si512(bytes, _mm512_set1_epi16(0x0F)))
            let high = phoenix_opaque512(_mm512_srli_epi16(bytes, 4))
            let sixteen = _mm512_set1_epi16(16)
            let even = _mm512_mask_sub_epi16(low, block.loadUnaligned(fromByteOffset: 4, as: UInt32.self), low, sixteen)
            let odd = _mm512_mask_sub_epi16(high, block.loadUnaligned(fromByteOffset: 8, as: UInt32.self), high, sixteen)
            return _mm512_cvtepi32_ps(unitSums(even, odd, a.values + 64 * b))
        }
        // Lanes 0..<8 from float k of a 128-bit register, lanes 8..<16 from float k + 1.
        @inline(__always) func spread(_ v: __m128, _ k: Int32) -> __m512 {
            _mm512_permutexvar_ps(_mm512_set_epi32(k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k, k, k, k, k, k, k, k),
                                  _mm512_castps128_ps512(v))
        }
        @inline(__always) func addBlock(_ rows: RowPair, _ b: Int, _ acc: inout Accumulators) {
            let block = rows.first + 44 * b
            let scales = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(block.loadUnaligned(as: Int32.self))), _mm_set1_ps(a.scales[b]))
            acc.products = _mm512_fmadd_ps(sums(block, b), spread(scales, 0), acc.products)
        }
        // Two pairs' four fp16 scales widen in one instruction and meet the token's scale in one more.
        @inline(__always) func addBlocks(_ x: RowPair, _ y: RowPair, _ b: Int, _ sumsX: inout Accumulators,
                                         _ sumsY: inout Accumulators) {
            let blockX = x.first + 44 * b, blockY = y.first + 44 * b
            let halves = _mm_set_epi32(0, 0, blockY.loadUnaligned(as: Int32.self), blockX.loadUnaligned(as: Int32.self))
            let scales = _mm_mul_ps(_mm_cvtph_ps(halves), _mm_set1_ps(a.scales[b]))
            sumsX.products = _mm512_fmadd_ps(sums(blockX, b), spread(scales, 0), sumsX.products)
            sumsY.products = _mm512_fmadd_ps(sums(blockY, b), spread(scales, 2), sumsY.products)
        }
        forEachRowPair(a, addBlock, together: addBlocks)
    }
}
#endif
