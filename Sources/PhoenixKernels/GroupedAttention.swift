#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if arch(x86_64)
import CPhoenixX86
import PhoenixKernelsAVX512
#endif

extension Kernels {
    /// Positions per piece of a split attention: a query's positions are cut at multiples of this.
    /// A decode step's threads share one query's pieces, so a context shorter than one piece is
    /// attended by one thread while the others wait: at 256 that was every step of a 128-token
    /// generation. At 64, decoding the default model ran 1.013 times as fast (tg128, paired runs in one
    /// process) and prompts at 0.994 times (pp512, within the noise).
    public static let attentionSplit = 64

    /// How many positions ahead `attendFourHeadsPiece` asks for key rows, when it asks.
    static let keysAhead = 8

    /// Floats of one piece's partial result for four heads: the unnormalized outputs, then the four
    /// maxima, then the four sums.
    public static func partialStride(headDim: Int) -> Int { 4 * headDim + 8 }

    /// The pieces `positions` is cut into (at multiples of `attentionSplit`), in order.
    public static func attentionPieces(_ positions: Range<Int>) -> Int {
        (positions.upperBound - 1) / attentionSplit - positions.lowerBound / attentionSplit + 1
    }

    /// Piece `i` of `positions`.
    public static func attentionPiece(_ positions: Range<Int>, _ i: Int) -> Range<Int> {
        let firstPiece = positions.lowerBound / attentionSplit
        return max(positions.lowerBound, (firstPiece + i) * attentionSplit)..<min(positions.upperBound, (firstPiece + i + 1) * attentionSplit)
    }

    /// Four query heads that share one key/value head (grouped-query attention), each attending to
    /// `positions`: out[h] = Σ_j softmax_j(scale · q[h]·k_j) · v_j.
    ///
    /// Split-KV: the positions are cut into pieces at multiples of `attentionSplit`; each piece gives a
    /// partial result (`attendFourHeadsPiece`) and `mergeFourHeads` combines them in order, rescaling by
    /// each piece's maximum (the FlashAttention-2 combination). Because the cut depends on the
    /// positions alone, a query gets the same bits whether one thread runs its pieces in turn (here) or
    /// several threads run them at once (a decode step with few queries and a long context).
    ///
    /// queries: [4, headDim], headDim a multiple of 16; scores: scratch for 4 · attentionSplit floats;
    /// partials: scratch for attentionPieces(positions) · partialStride(headDim) floats; out: [4, headDim].
    public static func attendFourHeads(queries: UnsafePointer<Float>, keys: KVBlocks, values: KVBlocks,
                                       positions: Range<Int>, headDim: Int, scale: Float,
                                       scores: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>,
                                       prefetching: Bool = false, into out: UnsafeMutablePointer<Float>) {
        let pieces = attentionPieces(positions), stride = partialStride(headDim: headDim)
        for i in 0..<pieces {
            attendFourHeadsPiece(queries: queries, keys: keys, values: values, positions: attentionPiece(positions, i),
                                 headDim: headDim, scale: scale, scores: scores, prefetching: prefetching,
                                 into: partials + i * stride)
        }
        mergeFourHeads(partials, pieces: pieces, headDim: headDim, into: out)
    }

    /// The partial result of four heads over one piece of positions (at most `attentionSplit`):
    /// per head the largest score m, l = Σ exp(score − m) and the unnormalized Σ exp(score − m) · v.
    ///
    /// Sharing is the point: every key and value row is read once for the four heads instead of four
    /// times, and the output stays in registers. Scores are taken two keys at a time (eight dot products
    /// in flight); the weighted sum runs sixteen dimensions at a time over every position, so each
    /// output vector is written once rather than once per position. The arithmetic per position does
    /// not depend on how positions are split into blocks.
    ///
    /// `prefetching`, for a token being decoded: its sequence's cached keys and values were written at
    /// earlier steps, and the weights read since have pushed them out of the caches, while the cores'
    /// own prefetchers hardly fetch ahead here (decoding without the requests for the weights ran at a
    /// third of the speed). So each key row is asked for `keysAhead` positions before its scores, and
    /// each value row with its key, long before the weighted sum reads it. Decoding the default model:
    /// 1.04–1.05 times as fast at 1,024 positions with one thread and 1.11 with two, 1.00–1.01 and
    /// 1.01–1.03 at 128 (two series of paired runs in one process). Prompts leave it off: their keys and values were just written, and
    /// with one thread the requests made pp512 0.98 times as fast.
    public static func attendFourHeadsPiece(queries: UnsafePointer<Float>, keys: KVBlocks, values: KVBlocks,
                                            positions: Range<Int>, headDim: Int, scale: Float,
                                            scores: UnsafeMutablePointer<Float>, prefetching: Bool = false,
                                            into partial: UnsafeMutablePointer<Float>) {
        precondition(headDim % 16 == 0, "attendFourHeadsPiece: headDim must be a multiple of 16")
        precondition(keys.precision == values.precision, "attendFourHeadsPiece: keys and values must be stored alike")
        #if arch(x86_64)
        if useWideKernels {
            return wideFourHeadsPiece(queries, keys, values, positions, headDim, scale, scores, prefetching, partial)
        }
        #endif
        switch keys.precision {
        case .f16: fourHeadsPiece(HalfRow.self, queries, keys, values, positions, headDim, scale, scores, prefetching, partial)
        case .f32: fourHeadsPiece(FloatRow.self, queries, keys, values, positions, headDim, scale, scores, prefetching, partial)
        }
    }

    @inline(__always)
    static func fourHeadsPiece<Row: KVRow>(_: Row.Type, _ queries: UnsafePointer<Float>, _ keys: KVBlocks, _ values: KVBlocks,
                                           _ positions: Range<Int>, _ headDim: Int, _ scale: Float,
                                           _ scores: UnsafeMutablePointer<Float>, _ prefetching: Bool,
                                           _ partial: UnsafeMutablePointer<Float>) {
        let count = positions.count, first = positions.lowerBound
        let q = UnsafeRawPointer(queries), headBytes = 4 * headDim
        @inline(__always) func query(_ h: Int, _ c: Int) -> SIMD8<Float> {
            q.loadUnaligned(fromByteOffset: h * headBytes + 4 * c, as: SIMD8<Float>.self)
        }
        @inline(__always) func load(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> { Row.load(row, c) }
        // Scores: scores[h · count + j].
        var maxima = SIMD4<Float>(repeating: -.infinity)
        let rowLines = (headDim * keys.precision.bytes + 63) / 64
        @inline(__always) func ask(_ row: UnsafeRawPointer) {
            for line in 0..<rowLines { prefetch(row + 64 * line) }
        }
        keys.forEachRun(positions) { start, rows, runCount in
            let valueRows = values.base + keys.base.distance(to: rows)  // keys and values share the block layout
            if prefetching { for i in 0..<min(runCount, keysAhead) { ask(rows + i * keys.strideBytes) } }
            var i = 0
            while i < runCount {
                if prefetching {
                    for j in i..<min(i + 2, runCount) {
                        if j + keysAhead < runCount { ask(rows + (j + keysAhead) * keys.strideBytes) }
                        ask(valueRows + j * values.strideBytes)
                    }
                }
                let pair = i + 1 < runCount
                let k0 = rows + i * keys.strideBytes, k1 = pair ? k0 + keys.strideBytes : k0
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
                var c = 0
                while c < headDim {
                    let x0 = load(k0, c), x1 = load(k1, c)
                    let h0 = query(0, c), h1 = query(1, c), h2 = query(2, c), h3 = query(3, c)
                    a0.addProduct(h0, x0); a1.addProduct(h1, x0); a2.addProduct(h2, x0); a3.addProduct(h3, x0)
                    b0.addProduct(h0, x1); b1.addProduct(h1, x1); b2.addProduct(h2, x1); b3.addProduct(h3, x1)
                    c += 8
                }
                let j = start - first + i
                let s0 = laneSums(a0, a1, a2, a3) * scale
                for h in 0..<4 { scores[h * count + j] = s0[h] }
                maxima = largest(maxima, s0)
                if pair {
                    let s1 = laneSums(b0, b1, b2, b3) * scale
                    for h in 0..<4 { scores[h * count + j + 1] = s1[h] }
                    maxima = largest(maxima, s1)
                }
                i += pair ? 2 : 1
            }
        }
        for h in 0..<4 {
            partial[4 * headDim + h] = maxima[h]
            partial[4 * headDim + 4 + h] = exponentiate(scores + h * count, count: count, subtracting: maxima[h])
        }
        // partial[h][c..<c+16] = Σ_j p[h][j] · v_j[c..<c+16], positions in order.
        var c = 0
        while c < headDim {
            var o00 = SIMD8<Float>(), o01 = SIMD8<Float>(), o10 = SIMD8<Float>(), o11 = SIMD8<Float>()
            var o20 = SIMD8<Float>(), o21 = SIMD8<Float>(), o30 = SIMD8<Float>(), o31 = SIMD8<Float>()
            values.forEachRun(positions) { start, rows, runCount in
                for i in 0..<runCount {
                    let v = rows + i * values.strideBytes, j = start - first + i
                    let v0 = load(v, c), v1 = load(v, c + 8)
                    let p0 = SIMD8<Float>(repeating: scores[j]), p1 = SIMD8<Float>(repeating: scores[count + j])
                    let p2 = SIMD8<Float>(repeating: scores[2 * count + j]), p3 = SIMD8<Float>(repeating: scores[3 * count + j])
                    o00.addProduct(p0, v0); o01.addProduct(p0, v1)
                    o10.addProduct(p1, v0); o11.addProduct(p1, v1)
                    o20.addProduct(p2, v0); o21.addProduct(p2, v1)
                    o30.addProduct(p3, v0); o31.addProduct(p3, v1)
                }
            }
            let o = UnsafeMutableRawPointer(partial)
            o.storeBytes(of: o00, toByteOffset: 4 * c, as: SIMD8<Float>.self)
            o.storeBytes(of: o01, toByteOffset: 4 * (c + 8), as: SIMD8<Float>.self)
            o.storeBytes(of: o10, toByteOffset: headBytes + 4 * c, as: SIMD8<Float>.self)
            o.storeBytes(of: o11, toByteOffset: headBytes + 4 * (c + 8), as: SIMD8<Float>.self)
            o.storeBytes(of: o20, toByteOffset: 2 * headBytes + 4 * c, as: SIMD8<Float>.self)
            o.storeBytes(of: o21, toByteOffset: 2 * headBytes + 4 * (c + 8), as: SIMD8<Float>.self)
            o.storeBytes(of: o30, toByteOffset: 3 * headBytes + 4 * c, as: SIMD8<Float>.self)
            o.storeBytes(of: o31, toByteOffset: 3 * headBytes + 4 * (c + 8), as: SIMD8<Float>.self)
            c += 16
        }
    }

    #if arch(x86_64)
    /// `fourHeadsPiece` with its two loops in 512-bit registers (`WideKernels.attentionScores` and
    /// `attentionWeightedSums`), for CPUs with AVX-512: the same bits with half the FMAs. On a 2-core
    /// AMD EPYC (Zen 5), one thread, 8,192 positions deep: prompts (pp512) 1.05–1.07 times as fast,
    /// decoding 1.04–1.07 (three alternations of `phoenix bench -d 8192`); with the prompts' loops
    /// taking eight chains of FMAs instead of four, prompts there ran 1.15–1.23 times as fast again.
    static func wideFourHeadsPiece(_ queries: UnsafePointer<Float>, _ keys: KVBlocks, _ values: KVBlocks,
                                   _ positions: Range<Int>, _ headDim: Int, _ scale: Float,
                                   _ scores: UnsafeMutablePointer<Float>, _ prefetching: Bool,
                                   _ partial: UnsafeMutablePointer<Float>) {
        let count = positions.count, first = positions.lowerBound, halves = keys.precision == .f16
        var maxima = SIMD4<Float>(repeating: -.infinity)
        keys.forEachRun(positions) { start, rows, runCount in
            let valueRows = values.base + keys.base.distance(to: rows)  // keys and values share the block layout
            WideKernels.attentionScores(
                queries: queries, headDim: headDim,
                keys: .init(first: rows, count: runCount, strideBytes: keys.strideBytes, halves: halves), scale: scale,
                scores: scores + (start - first), scoreStride: count, maxima: &maxima,
                prefetching: prefetching ? .init(first: valueRows, count: runCount, strideBytes: values.strideBytes, halves: halves) : nil,
                ahead: keysAhead)
        }
        for h in 0..<4 {
            partial[4 * headDim + h] = maxima[h]
            partial[4 * headDim + 4 + h] = exponentiate(scores + h * count, count: count, subtracting: maxima[h])
        }
        partial.update(repeating: 0, count: 4 * headDim)
        values.forEachRun(positions) { start, rows, runCount in
            WideKernels.attentionWeightedSums(
                scores: scores + (start - first), scoreStride: count,
                values: .init(first: rows, count: runCount, strideBytes: values.strideBytes, halves: halves),
                headDim: headDim, decoding: prefetching, into: partial)
        }
    }
    #endif

    /// Each accumulator's eight lanes summed as ((0+1)+(2+3)) + ((4+5)+(6+7)), four at once: three
    /// horizontal adds and one add, where summing each in lane order took a transposition of some thirty
    /// shuffles per four scores (a sixth of a long prompt's attention).
    @inline(__always)
    static func laneSums(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>) -> SIMD4<Float> {
        #if arch(x86_64)
        // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]
        let pairs = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
        return pairs.lowHalf + pairs.highHalf
        #else
        @inline(__always) func tree(_ v: SIMD8<Float>) -> Float { ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])) }
        return SIMD4(tree(a), tree(b), tree(c), tree(d))
        #endif
    }

    /// What `pointwiseMax(a, b)` computes (a NaN in `a` stays), with the comparison it is made of: the
    /// compiler left pointwiseMax as a call in the score loop.
    @inline(__always)
    static func largest(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        a.replacing(with: b, where: a .< b)
    }

    /// out[h] = Σ_i w_i · o_i[h] / Σ_i w_i · l_i[h] with w_i = exp(m_i[h] − max_i m_i[h]), over the pieces
    /// in order. With one piece w = 1 exactly, so the result is o · (1 / l).
    public static func mergeFourHeads(_ partials: UnsafePointer<Float>, pieces: Int, headDim: Int,
                                      into out: UnsafeMutablePointer<Float>) {
        let stride = partialStride(headDim: headDim)
        for h in 0..<4 {
            var largest = -Float.infinity
            for i in 0..<pieces { largest = max(largest, partials[i * stride + 4 * headDim + h]) }
            var total: Float = 0
            for i in 0..<pieces {
                let piece = partials + i * stride
                total = total.addingProduct(piece[4 * headDim + 4 + h], expf(piece[4 * headDim + h] - largest))
            }
            // The sums go through `out`, a piece at a time, so each piece's weight is worked out once
            // rather than once per eight dimensions: with the pieces inside the dimensions' loop, merging
            // took a twelfth of a prompt's time 8,192 positions deep, and prompts there run 1.13–1.17
            // times as fast this way (one thread). Each value is the same chain of FMAs over the
            // pieces in order either way.
            let inverse = 1 / total, o = UnsafeMutableRawPointer(out + h * headDim)
            o.initializeMemory(as: Float.self, repeating: 0, count: headDim)
            for i in 0..<pieces {
                let piece = UnsafeRawPointer(partials + i * stride + h * headDim)
                let weight = SIMD8<Float>(repeating: expf(partials[i * stride + 4 * headDim + h] - largest))
                var c = 0
                while c < headDim {
                    var sum = o.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
                    sum.addProduct(piece.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self), weight)
                    o.storeBytes(of: sum, toByteOffset: 4 * c, as: SIMD8<Float>.self)
                    c += 8
                }
            }
            var c = 0
            while c < headDim {
                o.storeBytes(of: o.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self) * inverse, toByteOffset: 4 * c,
                             as: SIMD8<Float>.self)
                c += 8
            }
        }
    }
}
