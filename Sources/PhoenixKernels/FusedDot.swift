import PhoenixQuant

/// Dot products straight from quantized rows, for decoding (one token): the weights are read once and
/// never written back as floats. Q8_0, Q5_0, Q4_K and Q6_K (every format of the default model) have a
/// fused form; `fusedDot` returns nil for the others.
extension Kernels {
    /// Whether `fusedDot` handles `type`.
    @inlinable
    public static func hasFusedDot(_ type: QuantType) -> Bool {
        type == .q8_0 || type == .q5_0 || type == .q4_K || type == .q6_K
    }

    @inlinable
    public static func fusedDot(_ type: QuantType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float? {
        switch type {
        case .q8_0: dotQ8_0(row, x, blocks: count / 32)
        case .q5_0: dotQ5_0(row, x, blocks: count / 32)
        case .q4_K: dotQ4_K(row, x, blocks: count / 256)
        case .q6_K: dotQ6_K(row, x, blocks: count / 256)
        default: nil
        }
    }

    @inlinable @inline(__always)
    static func load8(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Σ_b d_b · Σ_j q_bj · x_bj over Q8_0 blocks (layout in Dequantize.swift).
    @inlinable
    static func dotQ8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + 34 * b, xb = x + 32 * b
            var sum = float(signedBytes8(block, 2)) * load8(xb, 0)
            for k in 1..<4 { sum.addProduct(float(signedBytes8(block, 2 + 8 * k)), load8(xb, 8 * k)) }
            acc.addProduct(sum, SIMD8<Float>(repeating: half(block, 0)))
        }
        return acc.sum()
    }

    /// Σ_b d_b · Σ_j (q_bj - 16) · x_bj over Q5_0 blocks (layout in Dequantize.swift).
    @inlinable
    static func dotQ5_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + 22 * b, xb = x + 32 * b
            var sum = SIMD8<Float>()
            for k in 0..<2 {
                let (low, top) = q5_0Codes(block, lanes: k)
                sum.addProduct(low, load8(xb, 8 * k))
                sum.addProduct(top, load8(xb, 16 + 8 * k))
            }
            acc.addProduct(sum, SIMD8<Float>(repeating: half(block, 0)))
        }
        return acc.sum()
    }

    /// Σ over Q4_K groups of d·scale·Σ q·x − dmin·min·Σ x (layout in Dequantize.swift).
    @inlinable
    static func dotQ4_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + 144 * b, xb = x + 256 * b
            let d = half(block, 0), dmin = half(block, 2)
            let scales = block + 4, codes = block + 16
            for g in 0..<8 {
                let (sc, m) = scaleMinK4(scales, g)
                var sumQX = SIMD8<Float>(), sumX = SIMD8<Float>()
                for k in 0..<4 {
                    let xv = load8(xb, 32 * g + 8 * k)
                    sumQX.addProduct(q4KCodes(codes, group: g, lanes: k), xv)
                    sumX += xv
                }
                acc.addProduct(sumQX, SIMD8<Float>(repeating: d * Float(sc)))
                acc.addProduct(sumX, SIMD8<Float>(repeating: -(dmin * Float(m))))
            }
        }
        return acc.sum()
    }

    /// Σ over Q6_K groups of 16 of (d·scale)·Σ (q − 32)·x (layout in Dequantize.swift).
    @inlinable
    static func dotQ6_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + 210 * b, xb = x + 256 * b
            let ql = block, qh = block + 128, scales = block + 192
            let d = half(block, 208)
            for h in 0..<2 {
                for t in 0..<4 {
                    for l in stride(from: 0, to: 32, by: 8) {
                        let i = 128 * h + 32 * t + l
                        let dl = d * Float(scales.load(fromByteOffset: i / 16, as: Int8.self))
                        acc.addProduct(q6KCodes(ql, qh, h: h, t: t, l: l) * SIMD8<Float>(repeating: dl), load8(xb, i))
                    }
                }
            }
        }
        return acc.sum()
    }
}
