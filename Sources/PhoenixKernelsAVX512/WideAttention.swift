#if arch(x86_64)
import CPhoenixX86

/// `Kernels.attendFourHeadsPiece`'s two loops in 512-bit registers: the scores two heads a register
/// (each head's eight lanes as the 256-bit kernel keeps them, a key's eight dimensions in both halves),
/// and the weighted sums of the values sixteen dimensions a register. Every score and every output
/// value is the same chain of FMAs as in the 256-bit loops, so the bits are theirs; half as many FMAs
/// do it. Attention is much of the work once a context runs to thousands of positions.
extension WideKernels {
    /// `count` consecutive key or value rows of one head, `strideBytes` apart from `first`, stored as
    /// halves or as floats.
    public struct AttentionRows {
        public var first: UnsafeRawPointer
        public var count: Int
        public var strideBytes: Int
        public var halves: Bool

        public init(first: UnsafeRawPointer, count: Int, strideBytes: Int, halves: Bool) {
            self.first = first
            self.count = count
            self.strideBytes = strideBytes
            self.halves = halves
        }

        @inline(__always)
        func row(_ i: Int) -> UnsafeRawPointer { first + i * strideBytes }
    }

    /// scores[h · scoreStride + i] = scale · queries[h] · key i, for the four heads (queries: [4, headDim]
    /// floats, headDim a multiple of 16) and each row of `keys`; `maxima` takes the largest of each head,
    /// as `Kernels.largest` does. With `values` (a decoded token's), asks for each key row `ahead` rows
    /// before its scores and for each value row with its key, as the 256-bit loop does.
    @inline(never)
    public static func attentionScores(queries: UnsafePointer<Float>, headDim: Int, keys: AttentionRows, scale: Float,
                                       scores: UnsafeMutablePointer<Float>, scoreStride: Int,
                                       maxima: inout SIMD4<Float>, prefetching values: AttentionRows?, ahead: Int) {
        let rowLines = (headDim * (keys.halves ? 2 : 4) + 63) / 64
        @inline(__always) func ask(_ row: UnsafeRawPointer) {
            for line in 0..<rowLines { phoenix_prefetch(row + 64 * line) }
        }
        @inline(__always) func queryPair(_ h: Int, _ c: Int) -> __m512 {
            phoenix_join256_ps(_mm256_loadu_ps(queries + h * headDim + c), _mm256_loadu_ps(queries + (h + 1) * headDim + c))
        }
        // Dimensions c..<c+8 of a key, in both halves.
        @inline(__always) func key(_ row: UnsafeRawPointer, _ c: Int) -> __m512 {
            keys.halves
                ? _mm512_cvtph_ps(_mm256_broadcastsi128_si256(_mm_loadu_si128((row + 2 * c).assumingMemoryBound(to: __m128i.self))))
                : _mm512_broadcast_f32x8(_mm256_loadu_ps((row + 4 * c).assumingMemoryBound(to: Float.self)))
        }
        if let values { for i in 0..<min(keys.count, ahead) { ask(keys.row(i)) } }
        var i = 0
        while i < keys.count {
            if let values {
                for j in i..<min(i + 2, keys.count) {
                    if j + ahead < keys.count { ask(keys.row(j + ahead)) }
                    ask(values.row(j))
                }
            }
            let pair = i + 1 < keys.count
            let k0 = keys.row(i), k1 = pair ? keys.row(i + 1) : k0
            var a01 = _mm512_setzero_ps(), a23 = _mm512_setzero_ps(), b01 = _mm512_setzero_ps(), b23 = _mm512_setzero_ps()
            var c = 0
            while c < headDim {
                let x0 = key(k0, c), x1 = key(k1, c), q01 = queryPair(0, c), q23 = queryPair(2, c)
                a01 = _mm512_fmadd_ps(q01, x0, a01)
                a23 = _mm512_fmadd_ps(q23, x0, a23)
                b01 = _mm512_fmadd_ps(q01, x1, b01)
                b23 = _mm512_fmadd_ps(q23, x1, b23)
                c += 8
            }
            @inline(__always) func record(_ heads01: __m512, _ heads23: __m512, _ j: Int) {
                let s = laneSums(_mm512_castps512_ps256(heads01), phoenix_high256_ps(heads01),
                                 _mm512_castps512_ps256(heads23), phoenix_high256_ps(heads23)) * scale
                for h in 0..<4 { scores[h * scoreStride + j] = s[h] }
                maxima = maxima.replacing(with: s, where: maxima .< s)
            }
            record(a01, a23, i)
            if pair { record(b01, b23, i + 1) }
            i += pair ? 2 : 1
        }
    }

    /// partial[h · headDim + d] += Σ_i scores[h · scoreStride + i] · value i [d], the rows in order, for the
    /// four heads and every dimension d (headDim a multiple of 16); the caller zeroes `partial` before
    /// the first run of rows.
    @inline(never)
    public static func attentionWeightedSums(scores: UnsafePointer<Float>, scoreStride: Int, values: AttentionRows,
                                             headDim: Int, into partial: UnsafeMutablePointer<Float>) {
        @inline(__always) func value(_ row: UnsafeRawPointer, _ c: Int) -> __m512 {
            values.halves
                ? _mm512_cvtph_ps(_mm256_loadu_si256((row + 2 * c).assumingMemoryBound(to: __m256i.self)))
                : _mm512_loadu_ps(row + 4 * c)
        }
        var c = 0
        while c < headDim {
            var o0 = _mm512_loadu_ps(partial + c), o1 = _mm512_loadu_ps(partial + headDim + c)
            var o2 = _mm512_loadu_ps(partial + 2 * headDim + c), o3 = _mm512_loadu_ps(partial + 3 * headDim + c)
            for i in 0..<values.count {
                let v = value(values.row(i), c)
                o0 = _mm512_fmadd_ps(_mm512_set1_ps(scores[i]), v, o0)
                o1 = _mm512_fmadd_ps(_mm512_set1_ps(scores[scoreStride + i]), v, o1)
                o2 = _mm512_fmadd_ps(_mm512_set1_ps(scores[2 * scoreStride + i]), v, o2)
                o3 = _mm512_fmadd_ps(_mm512_set1_ps(scores[3 * scoreStride + i]), v, o3)
            }
            _mm512_storeu_ps(partial + c, o0)
            _mm512_storeu_ps(partial + headDim + c, o1)
            _mm512_storeu_ps(partial + 2 * headDim + c, o2)
            _mm512_storeu_ps(partial + 3 * headDim + c, o3)
            c += 16
        }
    }

    /// `Kernels.laneSums`: each accumulator's eight lanes summed as ((0+1)+(2+3)) + ((4+5)+(6+7)).
    @inline(__always)
    static func laneSums(_ a: __m256, _ b: __m256, _ c: __m256, _ d: __m256) -> SIMD4<Float> {
        let pairs: SIMD8<Float> = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
        return pairs.lowHalf + pairs.highHalf
    }
}
#endif
