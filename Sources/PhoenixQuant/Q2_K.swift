// Q2_K: a super-block of 256 weights in 16 groups of 16. Each group has a 4-bit scale and a 4-bit min,
// themselves scaled by the fp16 super-block values d and dmin; each weight is a 2-bit code q:
//   w = (d * sc) * q - (dmin * m)
// Byte layout (84 bytes, ggml `block_q2_K`):
//   0..<16   scales  byte g: low nibble = sc, high nibble = m of group g (weights 16g..<16g+16)
//   16..<80  qs      weights 128h + 32s + l (h in 0..<2, s in 0..<4, l in 0..<32): bits 2s..<2s+2 of qs[32h + l]
//   80..<82  d       fp16 bits
//   82..<84  dmin    fp16 bits

/// 256 weights in 84 bytes (2.625 bits per weight): `w = d * sc * q - dmin * m`.
public struct BlockQ2_K: QuantBlock {
    public static var quantType: QuantType { .q2_K }
    public var scales: InlineArray<16, UInt8>  // per group: low nibble scale, high nibble min
    public var qs: InlineArray<64, UInt8>      // 2-bit codes, four per byte
    public var d: UInt16                       // scale of the group scales, fp16 bits
    public var dmin: UInt16                    // scale of the group mins, fp16 bits

    public init(scales: InlineArray<16, UInt8>, qs: InlineArray<64, UInt8>, d: UInt16, dmin: UInt16) {
        self.scales = scales
        self.qs = qs
        self.d = d
        self.dmin = dmin
    }
}

extension BlockQ2_K {
    /// ggml `quantize_row_q2_K_ref`: each group fitted by `make_qkx2_quants` (levels 0...3, weights |x|,
    /// absolute error), group scales and mins rounded to 4 bits against the largest of each, then every
    /// weight re-rounded against its group's stored scale and min.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "Q2_K quantizes 256 weights per block")
        var levels = InlineArray<256, UInt8>(repeating: 0)
        var groupScales = InlineArray<16, Float>(repeating: 0), groupMins = InlineArray<16, Float>(repeating: 0)
        var weights = InlineArray<16, Float>(repeating: 0)
        var maxScale: Float = 0, maxMin: Float = 0  // scales and mins are never negative here
        for g in 0..<16 {
            let group = UnsafeBufferPointer(rebasing: x[16 * g ..< 16 * g + 16])
            for l in 0..<16 { weights[l] = abs(group[l]) }
            let fit = weights.span.withUnsafeBufferPointer { w in
                KQuantSearch.makeQKX2Quants(levelMax: 3, x: group, weights: w, levels: &levels, at: 16 * g,
                                            rmin: -0.5, rdelta: 0.1, steps: 15, useMAD: true)
            }
            groupScales[g] = fit.scale
            groupMins[g] = fit.min
            if fit.scale > maxScale { maxScale = fit.scale }
            if fit.min > maxMin { maxMin = fit.min }
        }

        self.init(scales: .init(repeating: 0), qs: .init(repeating: 0), d: 0, dmin: 0)
        let q4scale: Float = 15
        if maxScale > 0 {
            let iscale = q4scale / maxScale
            for g in 0..<16 { scales[g] = UInt8(truncatingIfNeeded: Rounding.nearestInt(iscale * groupScales[g])) }
            d = HalfFloat.fp16Bits(maxScale / q4scale)
        } else {
            d = HalfFloat.fp16Bits(0)
        }
        if maxMin > 0 {
            let iscale = q4scale / maxMin
            for g in 0..<16 {
                scales[g] |= UInt8(truncatingIfNeeded: Rounding.nearestInt(iscale * groupMins[g]) << 4)
            }
            dmin = HalfFloat.fp16Bits(maxMin / q4scale)
        } else {
            dmin = HalfFloat.fp16Bits(0)
        }

        // Re-round against the stored (fp16, 4-bit) scale and min; a zero scale keeps the fitted levels.
        let dAll = HalfFloat.float(fp16Bits: d), minAll = HalfFloat.float(fp16Bits: dmin)
        for g in 0..<16 {
            let groupD = dAll * Float(scales[g] & 0x0F)
            if groupD == 0 { continue }
            let groupM = minAll * Float(scales[g] >> 4)
            for i in 0..<16 {
                let l = Rounding.nearestInt((x[16 * g + i] + groupM) / groupD)
                levels[16 * g + i] = UInt8(Swift.max(0, Swift.min(3, l)))
            }
        }
        for h in 0..<2 {
            for l in 0..<32 {
                let j = 128 * h + l
                qs[32 * h + l] = levels[j] | (levels[j + 32] << 2) | (levels[j + 64] << 4) | (levels[j + 96] << 6)
            }
        }
    }

    /// gguf-py `Q2_K.dequantize_blocks`: `dl * q - ml` with dl = d * sc, ml = dmin * m.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "Q2_K dequantizes 256 weights per block")
        let dAll = HalfFloat.float(fp16Bits: d), minAll = HalfFloat.float(fp16Bits: dmin)
        for i in 0..<256 {
            let (h, s, l) = (i / 128, (i % 128) / 32, i % 32)
            let q = (qs[32 * h + l] >> (2 * s)) & 3
            let sc = scales[i / 16]
            let dl = dAll * Float(sc & 0x0F)
            let ml = minAll * Float(sc >> 4)
            y[i] = dl * Float(q) - ml
        }
    }
}
