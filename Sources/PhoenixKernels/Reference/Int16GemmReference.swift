import PhoenixQuant

extension Reference {
    /// The definition of `Kernels.int16Gemm` for one row and token, with scalars: each unit's codes
    /// (read from the block bytes by `int16Unit`) times the token's 16-bit values in exact integers,
    /// then one float step per unit (per half for Q6_K and Q3_K) and the offset of the formats that have one, in
    /// the kernel's order (see `Int16Gemm.swift`). Nil for formats without a 16-bit form.
    public static func int16GemmDot(_ type: QuantType, _ row: UnsafeRawPointer, _ a: Kernels.Int16Activations,
                                    token: Int) -> Float? {
        guard Kernels.hasInt16Dot(type) else { return nil }
        var acc: Float = 0
        for u in 0..<a.blocksPerRow {
            let unit = int16Unit(type, row, u)
            let block = token * a.blocksPerRow + u
            let dx = a.scales[block]
            var low: Int32 = 0, high: Int32 = 0
            for j in 0..<16 {
                low += unit.codes[j] * Int32(a.values[32 * block + j])
                high += unit.codes[16 + j] * Int32(a.values[32 * block + 16 + j])
            }
            if int16SplitsScales(type) {
                acc = acc.addingProduct(Float(low), unit.lowScale * dx)
                acc = acc.addingProduct(Float(high), unit.highScale * dx)
            } else {
                acc = acc.addingProduct(Float(low + high), unit.lowScale * dx)
            }
            if type == .q2_K {
                let (lowSum, highSum) = halfSums(a, block)
                acc = acc.addingProduct(-unit.minScale, dx * Float(lowSum))
                acc = acc.addingProduct(-unit.highMinScale, dx * Float(highSum))
            } else if int16HasOffsets(type) {
                acc = acc.addingProduct(-unit.minScale, dx * Float(a.sums[block]))
            }
        }
        return acc
    }
}
