#if arch(x86_64)
import CPhoenixX86

/// `Kernels.attendFourHeadsPiece`'s two loops in 512-bit registers: the scores in each head's eight
/// lanes as the 256-bit kernel keeps them (two heads or two keys a register), and the weighted sums of
/// the values sixteen dimensions a register. Every score and every output value is the same chain of FMAs
/// as in the 256-bit loops, so the bits are theirs; half as many FMAs do it. Attention is much of the
/// work once a context runs to thousands of positions.
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
        // The scores of four heads (each SIMD8 lane l summing dimensions ≡ l mod 8) for row j.
        @inline(__always) func record(_ h0: __m256, _ h1: __m256, _ h2: __m256, _ h3: __m256, _ j: Int) {
            let s = laneSums(h0, h1, h2, h3) * scale
            for h in 0..<4 { scores[h * scoreStride + j] = s[h] }
            maxima = maxima.replacing(with: s, where: maxima .< s)
        }
        guard let values else {
            return keys.halves ? promptScores(queries, headDim, keys, halfKeyPair, record)
                               : promptScores(queries, headDim, keys, floatKeyPair, record)
        }
        // A decoded token's: two heads a register (a key's eight dimensions in both halves), two keys a
        // pass. Its keys come from memory. With the prompts' two loops it decoded 0.97 times as fast
        // (8,192 positions deep, one thread, eight ABBA pairs), and with four keys a pass 0.90–0.94.
        let rowLines = (headDim * (keys.halves ? 2 : 4) + 63) / 64
        @inline(__always) func ask(_ row: UnsafeRawPointer) {
            for line in 0..<rowLines { phoenix_prefetch(row + 64 * line) }
        }
        @inline(__always) func queryPair(_ h: Int, _ c: Int) -> __m512 {
            phoenix_join256_ps(_mm256_loadu_ps(queries + h * headDim + c), _mm256_loadu_ps(queries + (h + 1) * headDim + c))
        }
        @inline(__always) func key(_ row: UnsafeRawPointer, _ c: Int) -> __m512 {
            keys.halves
                ? _mm512_cvtph_ps(_mm256_broadcastsi128_si256(_mm_loadu_si128((row + 2 * c).assumingMemoryBound(to: __m128i.self))))
                : _mm512_broadcast_f32x8(_mm256_loadu_ps((row + 4 * c).assumingMemoryBound(to: Float.self)))
        }
        for i in 0..<min(keys.count, ahead) { ask(keys.row(i)) }
        var i = 0
        while i < keys.count {
            for j in i..<min(i + 2, keys.count) {
                if j + ahead < keys.count { ask(keys.row(j + ahead)) }
                ask(values.row(j))
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
            record(low(a01), high(a01), low(a23), high(a23), i)
            if pair { record(low(b01), high(b01), low(b23), high(b23), i + 1) }
            i += pair ? 2 : 1
        }
    }

    /// `attentionScores` for a prompt's token, whose keys were just written and sit in the caches: a
    /// register holds one head's eight lanes for two keys (the first in the low half), and a pass over
    /// the dimensions takes four keys into eight accumulators, eight chains of FMAs, which keep both FMA
    /// units busy at their latency; two heads a register and two keys a pass (four chains, as decoding
    /// keeps) waited on their own sums. `keyPair(first, second, c)`: dimensions c..<c+8 of both keys.
    @inline(__always)
    static func promptScores(_ queries: UnsafePointer<Float>, _ headDim: Int, _ keys: AttentionRows,
                             _ keyPair: (UnsafeRawPointer, UnsafeRawPointer, Int) -> __m512,
                             _ record: (__m256, __m256, __m256, __m256, Int) -> Void) {
        // Dimensions c..<c+8 of head h's query, in both halves.
        @inline(__always) func query(_ h: Int, _ c: Int) -> __m512 {
            _mm512_broadcast_f32x8(_mm256_loadu_ps(queries + h * headDim + c))
        }
        let zero = _mm512_setzero_ps()
        var i = 0
        while i + 4 <= keys.count {
            let r0 = keys.row(i), r1 = keys.row(i + 1), r2 = keys.row(i + 2), r3 = keys.row(i + 3)
            var a = (zero, zero, zero, zero), b = (zero, zero, zero, zero)
            var c = 0
            while c < headDim {
                let k01 = keyPair(r0, r1, c), k23 = keyPair(r2, r3, c)
                let q0 = query(0, c), q1 = query(1, c), q2 = query(2, c), q3 = query(3, c)
                a.0 = _mm512_fmadd_ps(q0, k01, a.0); a.1 = _mm512_fmadd_ps(q1, k01, a.1)
                a.2 = _mm512_fmadd_ps(q2, k01, a.2); a.3 = _mm512_fmadd_ps(q3, k01, a.3)
                b.0 = _mm512_fmadd_ps(q0, k23, b.0); b.1 = _mm512_fmadd_ps(q1, k23, b.1)
                b.2 = _mm512_fmadd_ps(q2, k23, b.2); b.3 = _mm512_fmadd_ps(q3, k23, b.3)
                c += 8
            }
            record(low(a.0), low(a.1), low(a.2), low(a.3), i)
            record(high(a.0), high(a.1), high(a.2), high(a.3), i + 1)
            record(low(b.0), low(b.1), low(b.2), low(b.3), i + 2)
            record(high(b.0), high(b.1), high(b.2), high(b.3), i + 3)
            i += 4
        }
        // The last one to three keys, two a pass (a lone one paired with itself).
        while i < keys.count {
            let pair = i + 1 < keys.count
            let r0 = keys.row(i), r1 = pair ? keys.row(i + 1) : r0
            var a = (zero, zero, zero, zero)
            var c = 0
            while c < headDim {
                let k01 = keyPair(r0, r1, c)
                a.0 = _mm512_fmadd_ps(query(0, c), k01, a.0); a.1 = _mm512_fmadd_ps(query(1, c), k01, a.1)
                a.2 = _mm512_fmadd_ps(query(2, c), k01, a.2); a.3 = _mm512_fmadd_ps(query(3, c), k01, a.3)
                c += 8
            }
            record(low(a.0), low(a.1), low(a.2), low(a.3), i)
            if pair { record(high(a.0), high(a.1), high(a.2), high(a.3), i + 1) }
            i += pair ? 2 : 1
        }
    }

    /// Dimensions c..<c+8 of two keys stored as halves (or floats), the first in the low half. Each
    /// precision gets a loop of its own: with the choice inside the loop, the compiler joined the two
    /// paths there and added shuffles to both.
    @inline(__always)
    static func halfKeyPair(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, _ c: Int) -> __m512 {
        _mm512_cvtph_ps(phoenix_join128(_mm_loadu_si128((first + 2 * c).assumingMemoryBound(to: __m128i.self)),
                                        _mm_loadu_si128((second + 2 * c).assumingMemoryBound(to: __m128i.self))))
    }

    @inline(__always)
    static func floatKeyPair(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, _ c: Int) -> __m512 {
        phoenix_join256_ps(_mm256_loadu_ps((first + 4 * c).assumingMemoryBound(to: Float.self)),
                           _mm256_loadu_ps((second + 4 * c).assumingMemoryBound(to: Float.self)))
    }

    @inline(__always) static func low(_ v: __m512) -> __m256 { _mm512_castps512_ps256(v) }
    @inline(__always) static func high(_ v: __m512) -> __m256 { phoenix_high256_ps(v) }

    /// partial[h · headDim + d] += Σ_i scores[h · scoreStride + i] · value i [d], the rows in order, for the
    /// four heads and every dimension d (headDim a multiple of 16); the caller zeroes `partial` before
    /// the first run of rows.
    ///
    /// A prompt's token takes thirty-two dimensions a pass, eight chains of FMAs; sixteen (four chains)
    /// ran at the chains' latency. A decoded token (`decoding`), whose value rows were asked for during
    /// its scores, keeps sixteen, as it keeps its scores loop: with both of the prompts' loops it decoded
    /// 0.97 times as fast (8,192 positions deep); the noise did not tell which loop cost it.
    @inline(never)
    public static func attentionWeightedSums(scores: UnsafePointer<Float>, scoreStride: Int, values: AttentionRows,
                                             headDim: Int, decoding: Bool, into partial: UnsafeMutablePointer<Float>) {
        @inline(__always) func halfValues(_ row: UnsafeRawPointer, _ c: Int) -> __m512 {
            _mm512_cvtph_ps(_mm256_loadu_si256((row + 2 * c).assumingMemoryBound(to: __m256i.self)))
        }
        @inline(__always) func floatValues(_ row: UnsafeRawPointer, _ c: Int) -> __m512 { _mm512_loadu_ps(row + 4 * c) }
        @inline(__always) func load(_ h: Int, _ c: Int) -> __m512 { _mm512_loadu_ps(partial + h * headDim + c) }
        @inline(__always) func store(_ v: __m512, _ h: Int, _ c: Int) { _mm512_storeu_ps(partial + h * headDim + c, v) }
        // The loops for one precision, as for the scores.
        @inline(__always) func sumRows(_ value: (UnsafeRawPointer, Int) -> __m512) {
            var c = 0
            while !decoding, c + 32 <= headDim {
                var o = (load(0, c), load(1, c), load(2, c), load(3, c))
                var p = (load(0, c + 16), load(1, c + 16), load(2, c + 16), load(3, c + 16))
                for i in 0..<values.count {
                    let row = values.row(i), v = value(row, c), w = value(row, c + 16)
                    let s0 = _mm512_set1_ps(scores[i]), s1 = _mm512_set1_ps(scores[scoreStride + i])
                    let s2 = _mm512_set1_ps(scores[2 * scoreStride + i]), s3 = _mm512_set1_ps(scores[3 * scoreStride + i])
                    o.0 = _mm512_fmadd_ps(s0, v, o.0); p.0 = _mm512_fmadd_ps(s0, w, p.0)
                    o.1 = _mm512_fmadd_ps(s1, v, o.1); p.1 = _mm512_fmadd_ps(s1, w, p.1)
                    o.2 = _mm512_fmadd_ps(s2, v, o.2); p.2 = _mm512_fmadd_ps(s2, w, p.2)
                    o.3 = _mm512_fmadd_ps(s3, v, o.3); p.3 = _mm512_fmadd_ps(s3, w, p.3)
                }
                store(o.0, 0, c); store(o.1, 1, c); store(o.2, 2, c); store(o.3, 3, c)
                store(p.0, 0, c + 16); store(p.1, 1, c + 16); store(p.2, 2, c + 16); store(p.3, 3, c + 16)
                c += 32
            }
            while c < headDim {
                var o = (load(0, c), load(1, c), load(2, c), load(3, c))
                for i in 0..<values.count {
                    let v = value(values.row(i), c)
                    o.0 = _mm512_fmadd_ps(_mm512_set1_ps(scores[i]), v, o.0)
                    o.1 = _mm512_fmadd_ps(_mm512_set1_ps(scores[scoreStride + i]), v, o.1)
                    o.2 = _mm512_fmadd_ps(_mm512_set1_ps(scores[2 * scoreStride + i]), v, o.2)
                    o.3 = _mm512_fmadd_ps(_mm512_set1_ps(scores[3 * scoreStride + i]), v, o.3)
                }
                store(o.0, 0, c); store(o.1, 1, c); store(o.2, 2, c); store(o.3, 3, c)
                c += 16
            }
        }
        if values.halves { sumRows(halfValues) } else { sumRows(floatValues) }
    }

    /// `Kernels.laneSums`: each accumulator's eight lanes summed as ((0+1)+(2+3)) + ((4+5)+(6+7)).
    @inline(__always)
    static func laneSums(_ a: __m256, _ b: __m256, _ c: __m256, _ d: __m256) -> SIMD4<Float> {
        let pairs: SIMD8<Float> = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
        return pairs.lowHalf + pairs.highHalf
    }
}
#endif
