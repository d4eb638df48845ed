import PhoenixKernels
import PhoenixQuant

/// The layers every architecture file builds from, so `diff Llama.swift Gemma3.swift` shows only the
/// real differences. Each works on `tokens` rows at once and splits its work over the pool's threads.
struct Blocks {
    let pool: ThreadPool
    let tokens: Int
    /// Where each token sits and where keys and values are kept.
    let kv: KVView
    /// How many of the leading tokens are being decoded (see `Kernels.matmul`); nil: the matmul's default.
    let decodeTokens: Int?
    /// This pass's RoPE tables, shared by the layers.
    let ropeTables: RopeTables

    /// x[t] = embedding row of token t, times `scale`.  x: [T, embeddingDim]
    func embed(_ ids: ArraySlice<Int>, _ table: WeightMatrix, scale: Float, into x: FloatBuffer) {
        let width = table.columns
        pool.parallelFor(tokens) { rows in
            for t in rows {
                let row = x.pointer + t * width
                table.dequantizeRow(ids[ids.startIndex + t], into: row)
                if scale != 1 { for i in 0..<width { row[i] *= scale } }
            }
        }
    }

    /// out[t] = rmsNorm(x[t]) · weight, for rows of `width`.
    func rmsNorm(_ x: FloatBuffer, _ weight: [Float], eps: Float, width: Int, into out: FloatBuffer) {
        weight.withUnsafeBufferPointer { w in
            pool.parallelFor(tokens, grain: 16) { rows in
                for t in rows {
                    Kernels.rmsNorm(x.pointer + t * width, weight: w.baseAddress!, eps: eps, count: width,
                                    into: out.pointer + t * width)
                }
            }
        }
    }

    /// RMSNorm of every head of every token, in place (the Q/K norms of Gemma 3 and Qwen 3).
    func headNorm(_ x: FloatBuffer, _ weight: [Float], eps: Float, heads: Int, headDim: Int) {
        weight.withUnsafeBufferPointer { w in
            pool.parallelFor(tokens * heads, grain: 16) { rows in
                for row in rows {
                    let p = x.pointer + row * headDim
                    Kernels.rmsNorm(p, weight: w.baseAddress!, eps: eps, count: headDim, into: p)
                }
            }
        }
    }

    /// out = x Wᵀ (+ bias).  x: [T, W.columns], out: [T, W.rows]
    func linear(_ x: FloatBuffer, _ w: WeightMatrix, bias: [Float]? = nil, into out: FloatBuffer) {
        Kernels.matmul(w, x.pointer, tokens: tokens, into: out.pointer, decodeTokens: decodeTokens, pool: pool)
        if let bias {
            for t in 0..<tokens { for r in 0..<w.rows { out.pointer[t * w.rows + r] += bias[r] } }
        }
    }

    /// linear of two or three matrices that read the same x, in one pass over the pool (see
    /// `Kernels.matmul`). The matrices and outputs go on the stack: arrays of them cost two heap
    /// allocations a call, a hundred a decoded token.
    func linear(_ x: FloatBuffer, _ a: (WeightMatrix, FloatBuffer), _ b: (WeightMatrix, FloatBuffer),
                _ c: (WeightMatrix, FloatBuffer)? = nil) {
        withUnsafeTemporaryAllocation(of: WeightMatrix.self, capacity: 3) { weights in
            withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>.self, capacity: 3) { outs in
                func put(_ pair: (WeightMatrix, FloatBuffer), at i: Int) {
                    (weights.baseAddress! + i).initialize(to: pair.0)
                    (outs.baseAddress! + i).initialize(to: pair.1.pointer)
                }
                put(a, at: 0)
                put(b, at: 1)
                if let c { put(c, at: 2) }
                let count = c == nil ? 2 : 3
                Kernels.matmul(UnsafeBufferPointer(rebasing: weights[..<count]), x.pointer, tokens: tokens,
                               into: UnsafeBufferPointer(rebasing: outs[..<count]), decodeTokens: decodeTokens, pool: pool)
            }
        }
    }

    /// Rotates every head of every token by its position.
    func rope(_ x: FloatBuffer, heads: Int, headDim: Int, _ frequencies: RopeFrequencies) {
        let table = ropeTables.table(frequencies, positions: kv.positions, tokens: tokens, pool: pool)
        let width = frequencies.ropeDim
        pool.parallelFor(tokens, grain: 8) { range in
            for t in range {
                Kernels.rope(x.pointer + t * heads * headDim, heads: heads, headDim: headDim, table: table + t * width, frequencies)
            }
        }
    }

    /// Writes this step's keys and values into each token's slot of its sequence's blocks, in the cache's
    /// precision.
    func store(_ k: FloatBuffer, _ v: FloatBuffer, layer: Int) {
        let width = kv.rowWidth
        for t in 0..<tokens {
            let position = kv.positions[t]
            let block = Int(kv.tables[kv.tableStarts[kv.sequenceOfToken[t]] + position / kv.blockSize])
            let offset = (block * kv.blockSize + position % kv.blockSize) * width * kv.precision.bytes
            write(k.pointer + t * width, into: kv.keys[layer] + offset, count: width)
            write(v.pointer + t * width, into: kv.values[layer] + offset, count: width)
        }
    }

    private func write(_ row: UnsafePointer<Float>, into store: UnsafeMutableRawPointer, count: Int) {
        switch kv.precision {
        case .f16: Kernels.storeHalves(row, into: store.assumingMemoryBound(to: Float16.self), count: count)
        case .f32: store.copyMemory(from: row, byteCount: 4 * count)
        }
    }

    /// Causal attention of each token over its own sequence's cached positions, itself included. A
    /// `window` limits each query to the last `window` positions (sliding-window layers).
    /// q: [T, headCount, headDim] → out: [T, headCount, headDim]
    ///
    /// Four query heads that share a key/value head go together (`attendFourHeads` reads each key and
    /// value row once for them, in pieces of `attentionSplit` positions); other groupings go one head at a
    /// time. Each thread takes the next task when it finishes one, not a contiguous share: a causal
    /// prompt's later tokens see more positions, so equal shares would leave the first thread idle. With fewer
    /// tasks than twice the threads (decoding a few sequences), the pieces of each task are shared out
    /// instead, so a long context keeps every thread busy (split-KV); each query gets the same bits
    /// either way.
    func attention(_ q: FloatBuffer, layer: Int, shape: DecoderShape, window: Int?, scale: Float, scratch: Scratch,
                   into out: FloatBuffer) {
        let (heads, headDim) = (shape.headCount, shape.headDim)
        let groupSize = heads / shape.kvHeadCount
        let together = groupSize % 4 == 0 && headDim % 16 == 0 ? 4 : 1
        let tasks = tokens * heads / together, context = kv.contextBound, threads = pool.threadCount
        let decodedTokens = decodeTokens ?? (tokens == 1 ? 1 : 0)  // the leading ones, as `Kernels.matmul` counts
        let stride = Kernels.partialStride(headDim: headDim), maxPieces = Scratch.attentionPieces(context: context)
        kv.tables.withUnsafeBufferPointer { tables in
            let pass = AttentionPass(kv: kv, tables: tables.baseAddress!, layer: layer, window: window, heads: heads,
                                     together: together, groupSize: groupSize, headDim: headDim,
                                     decodedTokens: decodedTokens, queries: q.pointer, scale: scale,
                                     scores: scratch.scores.pointer, context: context, partials: scratch.partials.pointer,
                                     maxPieces: maxPieces)
            if together == 4 && tasks < 2 * threads {
                // One piece in all (a context of at most 256 positions) leaves nothing to share: the
                // calling thread takes it, without a fork and join (18 of a step's 91 with the default
                // model; tg128 with two threads 1.007 times as fast, the median of 14 paired runs, within
                // their noise).
                let pieces = (0..<tasks).reduce(0) { $0 + Kernels.attentionPieces(pass($1).positions) }
                if pieces > 1 {
                    pool.run(SplitAttention(pass: pass, tasks: tasks, threads: threads))
                } else {
                    SplitAttention(pass: pass, tasks: tasks, threads: 1).run(thread: 0)
                }
                for task in 0..<tasks {
                    let g = pass(task)
                    Kernels.mergeFourHeads(scratch.partials.pointer + task * maxPieces * stride,
                                           pieces: Kernels.attentionPieces(g.positions), headDim: headDim,
                                           into: out.pointer + g.offset)
                }
                return
            }
            pool.forEachChunk(tasks, chunk: 1, WholeAttention(pass: pass, out: out.pointer))
        }
    }

    enum Activation { case geluTanh, silu }

    /// out = down(act(gate(h)) · up(h)).  h: [T, embeddingDim] → out: [T, embeddingDim]
    func gatedFFN(_ h: FloatBuffer, gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix, _ activation: Activation,
                  scratch: Scratch, into out: FloatBuffer) {
        linear(h, (gate, scratch.gate), (up, scratch.up))
        let count = tokens * gate.rows
        // A row per chunk at least: one decode token's 2048 values take less time than a fork/join.
        pool.parallelFor(count, grain: max(256, gate.rows)) { range in
            let g = scratch.gate.pointer + range.lowerBound, u = scratch.up.pointer + range.lowerBound
            switch activation {
            case .geluTanh: Kernels.geluGate(g, up: u, count: range.count)
            case .silu: Kernels.siluGate(g, up: u, count: range.count)
            }
        }
        linear(scratch.gate, down, into: out)
    }

    /// x += y, for T rows of `width`.
    func add(_ y: FloatBuffer, to x: FloatBuffer, width: Int) {
        Kernels.addScaled(y.pointer, scale: 1, into: x.pointer, count: tokens * width)
    }
}
