import PhoenixQuant

extension Kernels {
    /// out[t][r] = Σ_c W[r][c] · x[t][c], for `tokens` input rows.
    ///
    /// x: [tokens, W.columns] row-major; out: [tokens, outStride] with the first `W.rows` columns written.
    /// Each weight row is dequantized once and multiplied with every token, so a batch of tokens costs
    /// one pass over the weights. Rows are split between the pool's threads.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int,
                              into out: UnsafeMutablePointer<Float>, outStride: Int? = nil, pool: ThreadPool) {
        let stride = outStride ?? w.rows
        let columns = w.columns
        pool.parallelFor(w.rows, grain: 8) { rows in
            if w.type == .f32 {
                let weights = w.base.assumingMemoryBound(to: Float.self)
                for r in rows {
                    let row = weights + r * columns
                    for t in 0..<tokens { out[t * stride + r] = dot(row, x + t * columns, count: columns) }
                }
                return
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { buffer in
                let row = buffer.baseAddress!
                for r in rows {
                    w.dequantizeRow(r, into: row)
                    for t in 0..<tokens { out[t * stride + r] = dot(row, x + t * columns, count: columns) }
                }
            }
        }
    }
}
