extension Kernels {
    /// Four query heads that share one key/value head (grouped-query attention), each attending to
    /// `positions`: out[h] = Σ_j softmax_j(scale · q[h]·k_j) · v_j, as `attend` computes for one head.
    ///
    /// Sharing is the point: every key and value row is read once for the four heads instead of four
    /// times, and the output stays in registers. Scores are taken two keys at a time (eight dot products
    /// in flight); the weighted sum runs sixteen dimensions at a time over every position, so each
    /// output vector is written once rather than once per position.
    ///
    /// queries: [4, headDim], headDim a multiple of 16; scores: scratch for 4 · positions.count floats;
    /// out: [4, headDim]. As with `attend`, the arithmetic per position does not depend on how
    /// positions are split into blocks, and a head's result not on which thread or batch computes it.
    public static func attendFourHeads(queries: UnsafePointer<Float>, keys: KVBlocks, values: KVBlocks,
                                       positions: Range<Int>, headDim: Int, scale: Float,
                                       scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        precondition(headDim % 16 == 0, "attendFourHeads: headDim must be a multiple of 16")
        let count = positions.count, first = positions.lowerBound
        let q = UnsafeRawPointer(queries), headBytes = 4 * headDim
        @inline(__always) func query(_ h: Int, _ c: Int) -> SIMD8<Float> {
            q.loadUnaligned(fromByteOffset: h * headBytes + 4 * c, as: SIMD8<Float>.self)
        }
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ c: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p + c).loadUnaligned(as: SIMD8<Float>.self)
        }
        // Scores: scores[h · count + j].
        var maxima = SIMD4<Float>(repeating: -.infinity)
        keys.forEachRun(positions) { start, rows, runCount in
            var i = 0
            while i < runCount {
                let pair = i + 1 < runCount
                let k0 = rows + i * keys.positionStride, k1 = pair ? k0 + keys.positionStride : k0
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
                let s0 = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum()) * scale
                for h in 0..<4 { scores[h * count + j] = s0[h] }
                maxima = pointwiseMax(maxima, s0)
                if pair {
                    let s1 = SIMD4<Float>(b0.sum(), b1.sum(), b2.sum(), b3.sum()) * scale
                    for h in 0..<4 { scores[h * count + j + 1] = s1[h] }
                    maxima = pointwiseMax(maxima, s1)
                }
                i += pair ? 2 : 1
            }
        }
        for h in 0..<4 {
            let row = scores + h * count
            let inverse = 1 / exponentiate(row, count: count, subtracting: maxima[h])
            for j in 0..<count { row[j] *= inverse }
        }
        // out[h][c..<c+16] = Σ_j p[h][j] · v_j[c..<c+16], positions in order.
        var c = 0
        while c < headDim {
            var o00 = SIMD8<Float>(), o01 = SIMD8<Float>(), o10 = SIMD8<Float>(), o11 = SIMD8<Float>()
            var o20 = SIMD8<Float>(), o21 = SIMD8<Float>(), o30 = SIMD8<Float>(), o31 = SIMD8<Float>()
            values.forEachRun(positions) { start, rows, runCount in
                for i in 0..<runCount {
                    let v = rows + i * values.positionStride, j = start - first + i
                    let v0 = load(v, c), v1 = load(v, c + 8)
                    let p0 = SIMD8<Float>(repeating: scores[j]), p1 = SIMD8<Float>(repeating: scores[count + j])
                    let p2 = SIMD8<Float>(repeating: scores[2 * count + j]), p3 = SIMD8<Float>(repeating: scores[3 * count + j])
                    o00.addProduct(p0, v0); o01.addProduct(p0, v1)
                    o10.addProduct(p1, v0); o11.addProduct(p1, v1)
                    o20.addProduct(p2, v0); o21.addProduct(p2, v1)
                    o30.addProduct(p3, v0); o31.addProduct(p3, v1)
                }
            }
            let o = UnsafeMutableRawPointer(out)
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
}
