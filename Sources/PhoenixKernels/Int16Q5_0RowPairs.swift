#if arch(x86_64)
import CPhoenixX86
import PhoenixKernelsAVX512

/// The 16-bit kernels' products for Q5_0 matrices in the row-pair layout (`Kernels.Q5_0RowPairs`), with
/// the bits of GGUF's layout (`Reference.int16Dot`, `Reference.int16GemmDot`): one token at a time in
/// 512-bit registers (`WideKernels.q5_0RowPairs`), several tokens by the same kernel once per token over
/// rows few enough to stay in the caches, and, without the 512-bit kernels, a row at a time in 256-bit
/// registers.
extension Kernels {
    /// Pairs of rows per group when several tokens go through the one-token kernel: 64 rows, 28 KB of
    /// the default model's 640 columns, read from memory for the first token and from L1 or L2 for the
    /// rest.
    static let rowPairGroup = 32

    /// `int16Dots` for a matrix in the row-pair layout.
    static func q5_0RowPairDots(_ w: WeightMatrix, rows: Range<Int>, _ a: Int16Activations,
                                into out: UnsafeMutablePointer<Float>, outStride stride: Int) {
        guard useWideKernels else { return q5_0RowPairDots256(w, rows, a, out, stride) }
        var lower = rows.lowerBound
        // A chunk may start or end inside a pair (the pool's chunks of grouped matrices), and an odd last
        // row keeps GGUF's layout: those rows go one at a time.
        if lower % 2 == 1 && lower < rows.upperBound {
            q5_0RowPairDots256(w, lower..<lower + 1, a, out, stride)
            lower += 1
        }
        let pairedEnd = max(lower, rows.upperBound & ~1)
        let blocks = w.columns / 32, chunkEnd = UnsafeRawPointer(w.base + rows.upperBound * w.rowBytes)
        var first = lower
        while first < pairedEnd {
            let end = a.tokens == 1 ? pairedEnd : min(pairedEnd, first + 2 * rowPairGroup)
            for t in 0..<a.tokens {
                // The first token asks for the rows ahead; the others read what it brought in.
                let start = UnsafeRawPointer(w.base + first * w.rowBytes)
                WideKernels.q5_0RowPairs(WideKernels.RowPairs(
                    rows: start, rowBytes: w.rowBytes, pairs: (end - first) / 2, blocks: blocks,
                    values: UnsafeRawPointer(a.evenOdd + t * a.columns), scales: UnsafePointer(a.scales + t * blocks),
                    sums: UnsafePointer(a.sums + t * blocks), chunkEnd: t == 0 ? chunkEnd : start,
                    prefetchDistance: t == 0 ? widePrefetchDistance : 0, out: out + t * stride + first))
            }
            first = end
        }
        q5_0RowPairDots256(w, pairedEnd..<rows.upperBound, a, out, stride)
    }

    /// Row by row in 256-bit registers, for every token: `Reference.int16Dot`'s steps.
    static func q5_0RowPairDots256(_ w: WeightMatrix, _ rows: Range<Int>, _ a: Int16Activations,
                                   _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
        let blocks = w.columns / 32
        for r in rows {
            guard Q5_0RowPairs.pairBlock(w, row: r, block: 0) != nil else {
                int16Dots(Int16Q5_0.self, w, r..<r + 1, a, out, stride)  // the odd last row, GGUF's layout
                continue
            }
            for t in 0..<a.tokens {
                var acc = SIMD8<Float>()
                for b in 0..<blocks {
                    let (block, second) = Q5_0RowPairs.pairBlock(w, row: r, block: b)!
                    let (unit, d) = Q5_0RowPairs.unit(block, second: second)
                    let u = t * a.blocksPerRow + b
                    accumulate(&acc, unit, UnsafeRawPointer(a.evenOdd + 32 * u), scale: SIMD8(repeating: d) * a.scaleVectors[u])
                }
                out[t * stride + r] = laneTreeSum(acc)
            }
        }
    }
}

extension Kernels.Q5_0RowPairs {
    /// One row's codes − 16 of a pair's block, in 16-bit lanes at even and odd positions (`Int16Unit`),
    /// and its scale d.
    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, second: Bool) -> (Int16Unit, Float) {
        let half = second ? 1 : 0
        let bytes = _mm256_cvtepu8_epi16(Kernels.load128(block + 12 + 16 * half))
        let even = _mm256_and_si256(bytes, _mm256_set1_epi16(0x0F)), odd = _mm256_srli_epi16(bytes, 4)
        let sixteen = _mm256_set1_epi16(16)
        @inline(__always) func clearLanes(_ offset: Int) -> __m256i {
            let bits = Int16(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: offset, as: UInt32.self) >> (16 * half))
            let select = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, -32768)
            return _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16(bits), select), select)
        }
        let unit = Int16Unit(low: _mm256_sub_epi16(even, _mm256_and_si256(clearLanes(4), sixteen)),
                             high: _mm256_sub_epi16(odd, _mm256_and_si256(clearLanes(8), sixteen)))
        return (unit, phoenix_half(block.loadUnaligned(fromByteOffset: 2 * half, as: UInt16.self)))
    }
}

extension Kernels.Int16Panel {
    /// `fill` for a matrix in the row-pair layout.
    func fillQ5_0RowPairs(_ w: WeightMatrix, rows: Range<Int>) {
        let units = w.columns / 32
        for (i, r) in rows.enumerated() {
            guard Kernels.Q5_0RowPairs.pairBlock(w, row: r, block: 0) != nil else {
                fill(Int16Q5_0.self, w, rows: r..<r + 1, at: i)  // the odd last row, GGUF's layout
                continue
            }
            for u in 0..<units {
                let (block, second) = Kernels.Q5_0RowPairs.pairBlock(w, row: r, block: u)!
                let (unit, d) = Kernels.Q5_0RowPairs.unit(block, second: second)
                store(unit, row: i, unit: u, columns: w.columns)
                scales[2 * (i * units + u)] = d
                scales[2 * (i * units + u) + 1] = d
            }
        }
    }
}
#endif
