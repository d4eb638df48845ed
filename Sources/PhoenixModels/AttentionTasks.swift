import PhoenixKernels

/// One layer's attention in a forward pass (`Blocks.attention`): where each task reads and writes, and
/// the scratch the threads share. A task is `together` query heads of one token that share a key/value
/// head.
struct AttentionPass {
    let kv: KVView
    let tables: UnsafePointer<Int32>
    let layer: Int
    /// Sliding-window layers: each query sees only its last `window` positions.
    let window: Int?
    let heads: Int
    let together: Int
    let groupSize: Int
    let headDim: Int
    /// The leading tokens being decoded (their keys and values come from memory, see
    /// `Kernels.attendFourHeadsPiece`).
    let decodedTokens: Int
    let queries: UnsafePointer<Float>
    let scale: Float
    /// Per thread, 4 · `context` floats of scores.
    let scores: UnsafeMutablePointer<Float>
    let context: Int
    /// Room for `maxPieces` partial results per task (split) or per thread (whole tasks).
    let partials: UnsafeMutablePointer<Float>
    let maxPieces: Int

    /// Task `task`: its first head's offset in the queries and outputs, the positions it attends to, where
    /// its keys and values are, and whether its token is being decoded.
    func callAsFunction(_ task: Int) -> (offset: Int, positions: Range<Int>, keys: KVBlocks, values: KVBlocks, decoded: Bool) {
        let (t, group) = task.quotientAndRemainder(dividingBy: heads / together)
        let head = group * together, position = kv.positions[t]
        let first = window.map { max(0, position - $0 + 1) } ?? 0
        let headOffset = (head / groupSize) * headDim
        let table = tables + kv.tableStarts[kv.sequenceOfToken[t]]
        return ((t * heads + head) * headDim, first..<position + 1,
                KVBlocks(base: kv.keys[layer] + headOffset * kv.precision.bytes, precision: kv.precision,
                         blockTable: table, blockSize: kv.blockSize, positionStride: kv.rowWidth),
                KVBlocks(base: kv.values[layer] + headOffset * kv.precision.bytes, precision: kv.precision,
                         blockTable: table, blockSize: kv.blockSize, positionStride: kv.rowWidth),
                t < decodedTokens)
    }
}

/// Split-KV for a few tasks (a decode step): the pieces of all tasks, numbered in order, dealt out to the
/// threads in turn; each writes its piece's partial result for `Kernels.mergeFourHeads`. A task value,
/// so that handing it to the pool allocates nothing (see `ThreadPool.run(_: Task)`).
struct SplitAttention: ParallelTask {
    let pass: AttentionPass
    let tasks: Int
    let threads: Int

    func run(thread: Int) {
        let p = pass, stride = Kernels.partialStride(headDim: p.headDim)
        let scores = p.scores + thread * 4 * p.context
        var item = 0
        for task in 0..<tasks {
            let g = p(task)
            for piece in 0..<Kernels.attentionPieces(g.positions) {
                defer { item += 1 }
                guard item % threads == thread else { continue }
                Kernels.attendFourHeadsPiece(queries: p.queries + g.offset, keys: g.keys, values: g.values,
                                             positions: Kernels.attentionPiece(g.positions, piece),
                                             headDim: p.headDim, scale: p.scale, scores: scores, prefetching: g.decoded,
                                             into: p.partials + (task * p.maxPieces + piece) * stride)
            }
        }
    }
}

/// Each task's attention whole, the threads taking the next task as they finish one (a prompt's tokens,
/// or the heads of decoded tokens that do not share key/value heads by fours).
struct WholeAttention: ChunkedTask {
    let pass: AttentionPass
    let out: UnsafeMutablePointer<Float>

    func run(thread: Int, range: Range<Int>) {
        let p = pass
        let scores = p.scores + thread * 4 * p.context
        let partials = p.partials + thread * p.maxPieces * Kernels.partialStride(headDim: p.headDim)
        for task in range {
            let g = p(task)
            if p.together == 4 {
                Kernels.attendFourHeads(queries: p.queries + g.offset, keys: g.keys, values: g.values,
                                        positions: g.positions, headDim: p.headDim, scale: p.scale, scores: scores,
                                        partials: partials, prefetching: g.decoded, into: out + g.offset)
            } else {
                Kernels.attend(query: p.queries + g.offset, keys: g.keys, values: g.values, positions: g.positions,
                               headDim: p.headDim, scale: p.scale, scores: scores, into: out + g.offset)
            }
        }
    }
}
