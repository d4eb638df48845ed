#if arch(x86_64)
import CPhoenixX86

/// Kernels in 512-bit registers, for CPUs with AVX-512 F, CD, BW, DQ, VL and VNNI. This module alone is
/// built for such a CPU (Cascade Lake's instruction sets, see Package.swift): `PhoenixKernels`, built for
/// Haswell, asks the CPU first (`Kernels.wideKernelsAvailable`) and calls in only where it has them.
/// The entry points are `@inline(never)`, so none of this code lands in a caller built for another CPU.
///
/// Each kernel is a wider form of one of `PhoenixKernels`' 256-bit kernels and gives its bits: every
/// 32-bit lane goes through the same integer and float steps in the same order. The decode kernels
/// hold the same eight lanes for two weight rows at once; the prompt tile (`int16Tile`), 16 tokens.
public enum WideKernels {
    /// What a one-token kernel reads and writes: `pairs` pairs of weight rows from `rows` on, of `blocks`
    /// blocks each (the format's own: 32 weights for Q8_0 and Q5_0, 256 for Q4_K and Q6_K); one token's
    /// 16-bit values in the decode kernels' order (each 32-value block's 16 at even positions, then its
    /// 16 at odd ones), with their blocks' scales and sums of values; and `out`, where out[i] = row i ·
    /// the token, for i in 0..<2 · pairs. The rows are read from memory once, and the kernels ask for
    /// their bytes `prefetchDistance` ahead of where they read, up to `chunkEnd`, the end of the rows the
    /// calling thread took (see `forEachRowPair`).
    public struct RowPairs {
        public var rows: UnsafeRawPointer
        public var rowBytes: Int
        public var pairs: Int
        public var blocks: Int
        public var values: UnsafeRawPointer
        public var scales: UnsafePointer<Float>
        public var sums: UnsafePointer<Int32>
        public var chunkEnd: UnsafeRawPointer
        public var prefetchDistance: Int
        public var out: UnsafeMutablePointer<Float>

        public init(rows: UnsafeRawPointer, rowBytes: Int, pairs: Int, blocks: Int, values: UnsafeRawPointer,
                    scales: UnsafePointer<Float>, sums: UnsafePointer<Int32>, chunkEnd: UnsafeRawPointer,
                    prefetchDistance: Int, out: UnsafeMutablePointer<Float>) {
            self.rows = rows
            self.rowBytes = rowBytes
            self.pairs = pairs
            self.blocks = blocks
            self.values = values
            self.scales = scales
            self.sums = sums
            self.chunkEnd = chunkEnd
            self.prefetchDistance = prefetchDistance
            self.out = out
        }

        /// Pair `p`'s two rows.
        @inline(__always)
        func pair(_ p: Int) -> RowPair {
            let first = rows + 2 * p * rowBytes
            return (first, first + rowBytes)
        }

        /// Writes pair `p`'s results: its products less its offsets, each summed in
        /// `Kernels.laneTreeSum`'s order.
        @inline(__always)
        func store(_ p: Int, _ sums: Accumulators) {
            let products = sums.products, offsets = sums.offsets
            out[2 * p] = laneTreeSum(products.lowHalf) - laneTreeSum(offsets.lowHalf)
            out[2 * p + 1] = laneTreeSum(products.highHalf) - laneTreeSum(offsets.highHalf)
        }
    }

    /// Q5_0 (22-byte blocks: fp16 d, 32 fifth bits, 16 bytes of nibbles).
    @inline(never)
    public static func q5_0(_ a: RowPairs) { scaledRowPairs(WideQ5_0.self, a) }

    /// Q8_0 (34-byte blocks: fp16 d, 32 signed codes).
    @inline(never)
    public static func q8_0(_ a: RowPairs) { scaledRowPairs(WideQ8_0.self, a) }

    /// The formats whose blocks are one unit of 32 weights, w = d · code.
    @inline(__always)
    static func scaledRowPairs<F: WideScaledFormat>(_ format: F.Type, _ a: RowPairs) {
        @inline(__always) func addBlock(_ rows: RowPair, _ b: Int, _ acc: inout Accumulators) {
            let block0 = rows.first + b * F.blockBytes, block1 = rows.second + b * F.blockBytes
            let codes = F.codes(block0, block1)
            // Lane j's low byte (position 2j) and high byte (2j + 1), sign-extended.
            let even = _mm512_srai_epi16(_mm512_slli_epi16(codes, 8), 8), odd = _mm512_srai_epi16(codes, 8)
            let d = _mm512_mask_broadcastss_ps(_mm512_set1_ps(phoenix_half(block0.loadUnaligned(as: UInt16.self))), 0xFF00,
                                               _mm_set_ss(phoenix_half(block1.loadUnaligned(as: UInt16.self))))
            acc.products = _mm512_fmadd_ps(_mm512_cvtepi32_ps(unitSumsAdded(even, odd, a.values + 64 * b)),
                                           _mm512_mul_ps(d, _mm512_set1_ps(a.scales[b])), acc.products)
        }
        forEachRowPair(a, addBlock)
    }

    /// Two neighbouring rows, the first row's sums in lanes 0..<8, the second's in 8..<16.
    typealias RowPair = (first: UnsafeRawPointer, second: UnsafeRawPointer)

    /// A pair of rows' sums: lanes 0..<8 the first row's, 8..<16 the second's; `offsets` for the formats
    /// whose weights carry a minimum (Q4_K), subtracted at the end.
    struct Accumulators {
        var products = _mm512_setzero_ps()
        var offsets = _mm512_setzero_ps()
    }

    /// Calls `addBlock(pair, b, &sums)` for every block `b` of every pair of rows, in block order for each
    /// pair, then stores the pair's results.
    ///
    /// Two pairs go together, each in its own accumulators: a pair's blocks all add into one register,
    /// so alone its loop waits on each FMA's result before the next block's can start. Each pair's sums
    /// keep their order, so their bits; the kernels' rates with the matrix in the caches went up 3–10%
    /// for Q5_0, Q4_K and Q6_K on a Zen 5, one thread.
    ///
    /// The rows stream from memory: the kernels ask for each 64-byte line once, `prefetchDistance`
    /// bytes ahead of the two pairs' position in the chunk's bytes (`LineRequests`). Asking per
    /// row and block instead (a request for every block of every row, as the 256-bit kernels do), Q8_0's
    /// kernel computed 1.3 times as fast as the 256-bit one in the caches yet decoded at 0.84 times its
    /// speed from memory, one thread; with a request per line, 1.03 times as fast (1.04 with two threads,
    /// nine paired runs in one process).
    @inline(__always)
    static func forEachRowPair(_ a: RowPairs, _ addBlock: (RowPair, Int, inout Accumulators) -> Void) {
        forEachRowPair(a, addBlock) { x, y, b, sumsX, sumsY in
            addBlock(x, b, &sumsX)
            addBlock(y, b, &sumsY)
        }
    }

    /// `forEachRowPair` for a kernel that adds block `b` of two pairs at once (`addBlocks(x, y, b, &sumsX,
    /// &sumsY)`, each pair's block into its own sums), sharing what the two have in common.
    @inline(__always)
    static func forEachRowPair(_ a: RowPairs, _ addBlock: (RowPair, Int, inout Accumulators) -> Void,
                               together addBlocks: (RowPair, RowPair, Int, inout Accumulators, inout Accumulators) -> Void) {
        let blockBytes = a.rowBytes / max(1, a.blocks)
        var requests = LineRequests(start: a.rows, end: a.chunkEnd, distance: a.prefetchDistance)
        var p = 0
        while p + 2 <= a.pairs {
            let x = a.pair(p), y = a.pair(p + 1)
            var sumsX = Accumulators(), sumsY = Accumulators()
            for b in 0..<a.blocks {
                requests.ask(readingAt: x.first + 4 * (b + 1) * blockBytes)
                addBlocks(x, y, b, &sumsX, &sumsY)
            }
            a.store(p, sumsX)
            a.store(p + 1, sumsY)
            p += 2
        }
        if p < a.pairs {
            let x = a.pair(p)
            var sums = Accumulators()
            for b in 0..<a.blocks {
                requests.ask(readingAt: x.first + 2 * (b + 1) * blockBytes)
                addBlock(x, b, &sums)
            }
            a.store(p, sums)
        }
    }

    /// A unit's integer sums for both rows: the codes at even positions (`even`, 16-bit lanes, the first
    /// row's in the low 256 bits) times the token's values there (the 32 bytes at `x`), plus those at odd
    /// positions times the values at x + 32. The second product adds into the first in one `vpdpwssd`
    /// (`phoenix_dpwssd512`): with the matrix in the caches, one thread, Q4_K's kernel ran 1.03–1.06
    /// times as fast, Q6_K's 1.02–1.04 (three alternations of `--kernel-rates`).
    @inline(__always)
    static func unitSums(_ even: __m512i, _ odd: __m512i, _ x: UnsafeRawPointer) -> __m512i {
        phoenix_dpwssd512(_mm512_madd_epi16(even, _mm512_broadcast_i64x4(load256(x))), odd,
                          _mm512_broadcast_i64x4(load256(x + 32)))
    }

    /// `unitSums` with the two products added by `vpaddd`: Q5_0's kernel in GGUF's layout, whose many
    /// shifts compete with `vpdpwssd` for the same units, ran 0.94–0.95 times as fast with it (three
    /// alternations of `--kernel-rates`, one thread); Q8_0's ran as fast either way.
    @inline(__always)
    static func unitSumsAdded(_ even: __m512i, _ odd: __m512i, _ x: UnsafeRawPointer) -> __m512i {
        _mm512_add_epi32(_mm512_madd_epi16(even, _mm512_broadcast_i64x4(load256(x))),
                         _mm512_madd_epi16(odd, _mm512_broadcast_i64x4(load256(x + 32))))
    }

    /// `Kernels.laneTreeSum`'s order, which the results must keep: (0+4 + 2+6) + (1+5 + 3+7).
    @inline(__always)
    static func laneTreeSum(_ v: SIMD8<Float>) -> Float {
        let half = v.lowHalf + v.highHalf
        return (half[0] + half[2]) + (half[1] + half[3])
    }
}

/// A format of one-unit blocks that start with their fp16 scale, for `WideKernels.scaledRowPairs`: Q8_0
/// and Q5_0.
protocol WideScaledFormat {
    static var blockBytes: Int { get }
    /// The signed codes (code − offset) of two rows' blocks in position order: the first row's 32 in
    /// the low 256 bits, the second's in the high ones.
    static func codes(_ block0: UnsafeRawPointer, _ block1: UnsafeRawPointer) -> __m512i
}

enum WideQ8_0: WideScaledFormat {
    static var blockBytes: Int { 34 }

    @inline(__always)
    static func codes(_ block0: UnsafeRawPointer, _ block1: UnsafeRawPointer) -> __m512i {
        _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(load256(block0 + 2)), 0xF0, load256(block1 + 2))
    }
}

enum WideQ5_0: WideScaledFormat {
    static var blockBytes: Int { 22 }

    @inline(__always)
    static func codes(_ block0: UnsafeRawPointer, _ block1: UnsafeRawPointer) -> __m512i {
        // Per 128-bit lane, [first row's nibbles, again, second row's, again]: the low halves keep the
        // low nibbles (weights 0..<16), the high ones the high nibbles, shifted down (16..<32).
        let keep = _mm512_set_epi64(-0x0F0F_0F0F_0F0F_0F10, -0x0F0F_0F0F_0F0F_0F10, 0x0F0F_0F0F_0F0F_0F0F, 0x0F0F_0F0F_0F0F_0F0F,
                                    -0x0F0F_0F0F_0F0F_0F10, -0x0F0F_0F0F_0F0F_0F10, 0x0F0F_0F0F_0F0F_0F0F, 0x0F0F_0F0F_0F0F_0F0F)
        let shifts = _mm512_set_epi32(4, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0)
        let nibbles = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(load128(block0 + 6)), 0xFF00, load128(block1 + 6))
        let low4 = _mm512_srlv_epi32(_mm512_and_si512(nibbles, keep), shifts)
        // code − 16 = nibble − (fifth bit clear ? 16 : 0): subtract where the bit is clear.
        let clear = UInt64(~block0.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            | UInt64(~block1.loadUnaligned(fromByteOffset: 2, as: UInt32.self)) << 32
        return _mm512_mask_sub_epi8(low4, clear, low4, _mm512_set1_epi8(16))
    }
}

@inline(__always)
func load128(_ p: UnsafeRawPointer) -> __m128i { _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self)) }

@inline(__always)
func load256(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }
#endif
