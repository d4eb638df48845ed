import PhoenixQuant

/// Dot products straight from quantized rows, for decoding (one token): the weights are read once and
/// never written back as floats. Only Q8_0 and Q5_0 have a fused form, the formats that hold most of the
/// default model's bytes (the tied output embedding is Q8_0); `fusedDot` returns nil for the others.
extension Kernels {
    @inlinable
    public static func fusedDot(_ type: QuantType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float? {
        switch type {
        case .q8_0: dotQ8_0(row, x, blocks: count / 32)
        case .q5_0: dotQ5_0(row, x, blocks: count / 32)
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
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + 22 * b, xb = x + 32 * b
            let high = SIMD8<UInt32>(repeating: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            var sum = SIMD8<Float>()
            for k in 0..<2 {
                let nibbles = bytes8(block, 6 + 8 * k)
                let low = (nibbles & 0x0F) | ((high &>> (lanes &+ UInt32(8 * k))) & 1) &<< 4
                let top = (nibbles &>> 4) | ((high &>> (lanes &+ UInt32(8 * k + 16))) & 1) &<< 4
                sum.addProduct(float(signed(low) &- 16), load8(xb, 8 * k))
                sum.addProduct(float(signed(top) &- 16), load8(xb, 16 + 8 * k))
            }
            acc.addProduct(sum, SIMD8<Float>(repeating: half(block, 0)))
        }
        return acc.sum()
    }
}
