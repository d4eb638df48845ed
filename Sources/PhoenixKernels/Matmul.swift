import PhoenixQuant

extension Kernels {
    /// Weight rows dequantized together into a float panel that stays in L2 (16 × 2048 × 4 = 128 KB at most
    /// for the default model).
    @usableFromInline static let panelRows = 16
    /// Tokens whose activations are reused across a whole panel while they sit in L1/L2.
    @usableFromInline static let tokenBlock = 12

    /// out[t][r] = Σ_c W[r][c] · x[t][c], for `tokens` input rows.
    ///
    /// x: [tokens, W.columns] row-major; out: [tokens, outStride] with the first `W.rows` columns written.
    /// The first `decodeTokens` tokens (nil: 1 when there is a single token, else 0) are tokens being
    /// decoded: for the formats that have one, they take the 16-bit integer kernels (`int16Dots`), which
    /// read each quantized row once for all of them. The others, prompt tokens, go through a GEMM: for
    /// the same formats on x86-64 the 16-bit integer one (`int16Gemm`, with tokens in the vector lanes),
    /// else the float one: the pool's threads take panels of 16 weight rows in turn, dequantize each
    /// once, then multiply it with blocks of 12 tokens, 4 rows × 3 tokens at a time (12 accumulators,
    /// within AVX2's 16 registers), so every loaded value feeds several multiply-adds.
    ///
    /// A token's result depends only on its row of x and on which of the two it is, never on the other
    /// tokens of the call or the thread count: each decode token runs the same integer and float steps
    /// alone or in a group; the integer GEMM computes each token in its own lane with the same steps
    /// whatever shares its group; and the float GEMM sums every output eight columns at a time in column
    /// order in one accumulator, its edge kernels as its 4×3 one. So a server that batches requests
    /// computes each exactly as it would alone.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int,
                              into out: UnsafeMutablePointer<Float>, outStride: Int? = nil, decodeTokens: Int? = nil,
                              pool: ThreadPool) {
        let stride = outStride ?? w.rows
        let columns = w.columns
        let decoding = hasInt16Dot(w.type) ? min(tokens, decodeTokens ?? (tokens == 1 ? 1 : 0)) : 0
        if decoding > 0 {
            withInt16Activations(x, tokens: decoding, columns: columns, pool: pool) { activations in
                pool.forEachShare(w.rows, granule: decodeGranule, key: decodeKey(bytes: w.rows * w.rowBytes, tokens: decoding),
                                  MatrixDecode(w: w, activations: activations, out: out, stride: stride))
            }
        }
        if decoding < tokens {
            if hasInt16Gemm(w.type) {
                int16Gemm([w], x + decoding * columns, tokens: tokens - decoding, into: [out + decoding * stride],
                          strides: [stride], pool: pool)
            } else {
                gemm(w, x + decoding * columns, tokens: tokens - decoding, into: out + decoding * stride, stride: stride, pool: pool)
            }
        }
    }

    /// `matmul` of several matrices with the same input (Q, K and V; gate and up): the activations are
    /// quantized once, and for decode tokens the threads share out all the matrices' rows in one
    /// fork/join instead of one per matrix. Each output gets exactly the bits a separate `matmul` gives it.
    public static func matmul(_ weights: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int,
                              into outs: [UnsafeMutablePointer<Float>], decodeTokens: Int? = nil, pool: ThreadPool) {
        weights.withUnsafeBufferPointer { weights in
            outs.withUnsafeBufferPointer { outs in
                matmul(weights, x, tokens: tokens, into: outs, decodeTokens: decodeTokens, pool: pool)
            }
        }
    }

    /// `matmul` of several matrices, given in memory the caller owns (a decode step's layers pass
    /// them from the stack, so that a token allocates nothing).
    public static func matmul(_ weights: UnsafeBufferPointer<WeightMatrix>, _ x: UnsafePointer<Float>, tokens: Int,
                              into outs: UnsafeBufferPointer<UnsafeMutablePointer<Float>>, decodeTokens: Int? = nil,
                              pool: ThreadPool) {
        precondition(weights.count == outs.count && weights.allSatisfy { $0.columns == weights[0].columns },
                     "matmul: one output per matrix, and every matrix as wide as the input")
        guard let columns = weights.first?.columns else { return }
        guard weights.allSatisfy({ hasInt16Dot($0.type) }) else {
            for (w, out) in zip(weights, outs) { matmul(w, x, tokens: tokens, into: out, decodeTokens: decodeTokens, pool: pool) }
            return
        }
        let decoding = min(tokens, decodeTokens ?? (tokens == 1 ? 1 : 0))
        if decoding > 0 {
            withInt16Activations(x, tokens: decoding, columns: columns, pool: pool) { activations in
                let rows = weights.reduce(0) { $0 + $1.rows }, bytes = weights.reduce(0) { $0 + $1.rows * $1.rowBytes }
                pool.forEachShare(rows, granule: decodeGranule, key: decodeKey(bytes: bytes, tokens: decoding),
                                  GroupDecode(weights: weights, outs: outs, activations: activations))
            }
        }
        if decoding < tokens {
            promptProducts(Array(weights), x + decoding * columns, tokens: tokens - decoding,
                           into: zip(weights, outs).map { $1 + decoding * $0.rows }, strides: weights.map(\.rows), pool: pool)
        }
    }

    /// Prompt tokens' products: the 16-bit integer GEMM (`int16Gemm`) where every matrix has it, which
    /// quantizes the input once for all of them, else the float GEMM.
    static func promptProducts(_ weights: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int,
                               into outs: [UnsafeMutablePointer<Float>], strides: [Int], pool: ThreadPool) {
        if weights.allSatisfy({ hasInt16Gemm($0.type) }) {
            int16Gemm(weights, x, tokens: tokens, into: outs, strides: strides, pool: pool)
        } else {
            for i in weights.indices { gemm(weights[i], x, tokens: tokens, into: outs[i], stride: strides[i], pool: pool) }
        }
    }

    /// Asks for the first bytes of `rows` (or all of them, if fewer) at once, as far as the decode kernels
    /// that read them ask ahead (`prefetchDistance`, or `widePrefetchDistance` for one token where the
    /// 512-bit kernels run). The kernels ask for each line that far before they read it, so a chunk's
    /// first bytes would otherwise arrive only as the kernel reaches them, and a decode step starts a
    /// hundred or more chunks per thread and token (asking for the first 4 KB, with requests 4 KB ahead:
    /// 1.02 times the decoding speed of the default model on an Intel Xeon, paired runs in one process,
    /// eight chunks per thread).
    @inline(__always)
    static func prefetchStart(_ w: WeightMatrix, _ rows: Range<Int>, tokens: Int) {
        let start = w.base + rows.lowerBound * w.rowBytes
        let distance = tokens == 1 && useWideKernels ? widePrefetchDistance : prefetchDistance
        for offset in Swift.stride(from: 0, to: min(distance, rows.count * w.rowBytes), by: 64) { prefetch(start + offset) }
    }

    /// A decode matmul's rows go out in one share per thread (`ThreadPool.forEachShare`), each a
    /// multiple of 16 rows (whole pairs of pairs of rows for the one-token kernels). One, because a
    /// share's first bytes are asked for only when a thread starts it (`prefetchStart`), and the thread
    /// then waits for them: a step's layers are small matrices (the default model's Q, K and V together
    /// are 676 KB), and at eight chunks per thread those waits added up. With two threads on a Zen 5,
    /// two chunks per thread decoded 1.11 times as fast as eight (eleven paired runs in one process);
    /// one, three and four 1.06–1.08 times, 32 0.84 times. Since the layers' Q5_0 matrices are held in
    /// row pairs (commit 1c6195e), one chunk per thread decodes 1.038 times as fast as two (the median
    /// of 21 paired runs in alternating processes, 0.99–1.06 but for two pairs during which the
    /// machine's speed jumped; its memory read 44–80 GB/s over them), and a halving schedule (each
    /// thread taking half of what is left, at least an eighth of the rows) 0.98–1.03 times: what a
    /// chunk's first bytes cost weighs more than the balance that more chunks give when one thread runs
    /// slower. The shares are learned instead, so that the threads finish together.
    static let decodeGranule = 16

    /// What a decode product's shares are learned by: its matrices' bytes and its tokens, which the
    /// same product of every layer shares.
    static func decodeKey(bytes: Int, tokens: Int) -> Int { bytes &* 64 &+ tokens }

    /// The float GEMM: rows dequantized a panel at a time, times every token. A panel per thread, in
    /// memory the pool keeps for its caller, cache-line aligned so no 32-byte load of it straddles two
    /// lines; the work goes to the threads as a task value (`FloatGemm`), so a product allocates nothing
    /// (a model with float matrices decodes through here).
    static func gemm(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, into out: UnsafeMutablePointer<Float>,
                     stride: Int, pool: ThreadPool) {
        let panelFloats = panelRows * w.columns
        pool.withCallerMemory(bytes: 4 * panelFloats * pool.threadCount) { memory in
            let panels = memory.bindMemory(to: Float.self, capacity: panelFloats * pool.threadCount)
            // Threads take a panel's rows at a time, so a slower thread does fewer.
            pool.forEachChunk(w.rows, chunk: panelRows,
                              FloatGemm(w: w, x: x, tokens: tokens, out: out, stride: stride, panels: panels))
        }
    }

    /// Four weight rows (contiguous, `columns` apart) times three token rows: out[t·stride + i].
    @inlinable
    static func dot4x3(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, columns: Int,
                       into out: UnsafeMutablePointer<Float>, stride: Int) {
        let pw = UnsafeRawPointer(w), px = UnsafeRawPointer(x)
        let rowBytes = 4 * columns
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
        var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
        var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
        var c = 0
        while c + 8 <= columns {
            let o = 4 * c
            let x0 = px.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let x1 = px.loadUnaligned(fromByteOffset: o + rowBytes, as: SIMD8<Float>.self)
            let x2 = px.loadUnaligned(fromByteOffset: o + 2 * rowBytes, as: SIMD8<Float>.self)
            let w0 = pw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            a00.addProduct(w0, x0); a01.addProduct(w0, x1); a02.addProduct(w0, x2)
            let w1 = pw.loadUnaligned(fromByteOffset: o + rowBytes, as: SIMD8<Float>.self)
            a10.addProduct(w1, x0); a11.addProduct(w1, x1); a12.addProduct(w1, x2)
            let w2 = pw.loadUnaligned(fromByteOffset: o + 2 * rowBytes, as: SIMD8<Float>.self)
            a20.addProduct(w2, x0); a21.addProduct(w2, x1); a22.addProduct(w2, x2)
            let w3 = pw.loadUnaligned(fromByteOffset: o + 3 * rowBytes, as: SIMD8<Float>.self)
            a30.addProduct(w3, x0); a31.addProduct(w3, x1); a32.addProduct(w3, x2)
            c += 8
        }
        // lane 3i + t holds row i times token t
        var sums = SIMD16<Float>(a00.sum(), a01.sum(), a02.sum(), a10.sum(), a11.sum(), a12.sum(),
                                 a20.sum(), a21.sum(), a22.sum(), a30.sum(), a31.sum(), a32.sum(), 0, 0, 0, 0)
        while c < columns {  // tail: fewer than 8 columns left
            for i in 0..<4 { for t in 0..<3 { sums[3 * i + t] += w[i * columns + c] * x[t * columns + c] } }
            c += 1
        }
        for i in 0..<4 { for t in 0..<3 { out[t * stride + i] = sums[3 * i + t] } }
    }

    /// Four weight rows times one token, each sum in dot4x3's order.
    @inlinable
    static func dot4x1(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, columns: Int, into out: UnsafeMutablePointer<Float>) {
        let pw = UnsafeRawPointer(w), px = UnsafeRawPointer(x)
        let rowBytes = 4 * columns
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var c = 0
        while c + 8 <= columns {
            let o = 4 * c
            let x0 = px.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            a0.addProduct(pw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), x0)
            a1.addProduct(pw.loadUnaligned(fromByteOffset: o + rowBytes, as: SIMD8<Float>.self), x0)
            a2.addProduct(pw.loadUnaligned(fromByteOffset: o + 2 * rowBytes, as: SIMD8<Float>.self), x0)
            a3.addProduct(pw.loadUnaligned(fromByteOffset: o + 3 * rowBytes, as: SIMD8<Float>.self), x0)
            c += 8
        }
        var sums = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
        while c < columns {  // tail: fewer than 8 columns left
            for i in 0..<4 { sums[i] += w[i * columns + c] * x[c] }
            c += 1
        }
        for i in 0..<4 { out[i] = sums[i] }
    }

    /// One weight row times one token, summed in dot4x3's order (for the last rows of a thread's share).
    @inlinable
    static func dot1x1(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, columns: Int) -> Float {
        let pw = UnsafeRawPointer(w), px = UnsafeRawPointer(x)
        var a = SIMD8<Float>()
        var c = 0
        while c + 8 <= columns {
            a.addProduct(pw.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self),
                         px.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self))
            c += 8
        }
        var sum = a.sum()
        while c < columns { sum += w[c] * x[c]; c += 1 }
        return sum
    }
}

/// One matrix's decode products over a chunk of its rows. A task value rather than a closure, so that
/// handing it to the pool's threads allocates nothing (see `ThreadPool.run(_: Task)`).
struct MatrixDecode: ChunkedTask {
    let w: WeightMatrix
    let activations: Kernels.Int16Activations
    let out: UnsafeMutablePointer<Float>
    let stride: Int

    func run(thread: Int, range rows: Range<Int>) {
        Kernels.prefetchStart(w, rows, tokens: activations.tokens)
        Kernels.int16Dots(w, rows: rows, activations, into: out, outStride: stride)
    }
}

/// Several matrices' decode products over a chunk of their rows, numbered through the matrices in order.
struct GroupDecode: ChunkedTask {
    let weights: UnsafeBufferPointer<WeightMatrix>
    let outs: UnsafeBufferPointer<UnsafeMutablePointer<Float>>
    let activations: Kernels.Int16Activations

    func run(thread: Int, range rows: Range<Int>) {
        forEachPart(rows) { w, _, local in Kernels.prefetchStart(w, local, tokens: activations.tokens) }
        forEachPart(rows) { w, out, local in Kernels.int16Dots(w, rows: local, activations, into: out, outStride: w.rows) }
    }

    /// Calls `body` with each matrix `rows` reaches into, its output, and its rows there.
    private func forEachPart(_ rows: Range<Int>, _ body: (WeightMatrix, UnsafeMutablePointer<Float>, Range<Int>) -> Void) {
        var first = 0
        for (w, out) in zip(weights, outs) {
            let lower = max(rows.lowerBound, first), upper = min(rows.upperBound, first + w.rows)
            if lower < upper { body(w, out, lower - first..<upper - first) }
            first += w.rows
        }
    }
}

/// One thread's share of the float GEMM: for each chunk of rows, a panel of them dequantized into the
/// thread's own panel, then times every token in blocks of `Kernels.tokenBlock` (4 rows × 3 tokens at a
/// time, the edges 4 × 1 and 1 × 1).
struct FloatGemm: ChunkedTask {
    let w: WeightMatrix
    let x: UnsafePointer<Float>
    let tokens: Int
    let out: UnsafeMutablePointer<Float>
    let stride: Int
    let panels: UnsafeMutablePointer<Float>

    func run(thread: Int, range rows: Range<Int>) {
        let columns = w.columns, panel = panels + thread * Kernels.panelRows * columns
        var r = rows.lowerBound
        while r < rows.upperBound {
            let count = min(Kernels.panelRows, rows.upperBound - r)
            for i in 0..<count { w.dequantizeRow(r + i, into: panel + i * columns) }
            var block = 0
            while block < tokens {
                let blockEnd = min(tokens, block + Kernels.tokenBlock)
                var i = 0
                while i < count {
                    let rowsHere = min(4, count - i)
                    var t = block
                    if rowsHere == 4 {
                        while t + 3 <= blockEnd {
                            Kernels.dot4x3(panel + i * columns, x + t * columns, columns: columns,
                                           into: out + t * stride + r + i, stride: stride)
                            t += 3
                        }
                    }
                    while t < blockEnd {
                        if rowsHere == 4 {
                            Kernels.dot4x1(panel + i * columns, x + t * columns, columns: columns, into: out + t * stride + r + i)
                        } else {
                            for k in 0..<rowsHere {
                                out[t * stride + r + i + k] = Kernels.dot1x1(panel + (i + k) * columns, x + t * columns, columns: columns)
                            }
                        }
                        t += 1
                    }
                    i += rowsHere
                }
                block = blockEnd
            }
            r += count
        }
    }
}
