// Q6_K: a super-block of 256 weights in 16 groups of 16. Each group has a signed 8-bit scale sc multiplied
// by the fp16 super-block scale d; each weight is a 6-bit code q stored as q + 32:
//   w = (d * sc) * q,  q in -32...31
// Byte layout (210 bytes, ggml `block_q6_K`), half h = weights 128h..<128h+128, l in 0..<32:
//   0..<128    ql      weight 128h + l: low nibble of ql[64h + l];      weight 128h + 32 + l: low nibble of ql[64h + 32 + l]
//                      weight 128h + 64 + l: high nibble of ql[64h + l]; weight 128h + 96 + l: high nibble of ql[64h + 32 + l]
//   128..<192  qh      weight 128h + 32t + l: bits 2t..<2t+2 of qh[32h + l] (the top two bits)
//   192..<208  scales  int8 group scales
//   208..<210  d       fp16 bits

/// 256 weights in 210 bytes (6.5625 bits per weight): `w = d * sc * q`.
public struct BlockQ6_K: QuantBlock {
    public static var quantType: QuantType { .q6_K }
    public var ql: InlineArray<128, UInt8>    // low 4 bits of each code
    public var qh: InlineArray<64, UInt8>     // top 2 bits of each code
    public var scales: InlineArray<16, Int8>  // group scales
    public var d: UInt16                      // scale of the group scales, fp16 bits

    public init(ql: InlineArray<128, UInt8>, qh: InlineArray<64, UInt8>, scales: InlineArray<16, Int8>,
                d: UInt16) {
        self.ql = ql
        self.qh = qh
        self.scales = scales
        self.d = d
    }
}

extension BlockQ6_K {
    /// ggml `quantize_row_q6_K_ref`: each group fitted by `make_qx_quants` (levels -32...31, weights x²),
    /// group scales rounded to 8 bits against the one of largest magnitude (mapped to -128), then every
    /// weight re-rounded against its group's stored scale. An all-zero block is all zero bytes.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "Q6_K quantizes 256 weights per block")
        var levels = InlineArray<256, Int8>(repeating: 0)
        var groupScales = InlineArray<16, Float>(repeating: 0)
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for g in 0..<16 {
            let group = UnsafeBufferPointer(rebasing: x[16 * g ..< 16 * g + 16])
            groupScales[g] = KQuantSearch.makeQXQuants(levelMax: 32, x: group, levels: &levels, at: 16 * g)
            if abs(groupScales[g]) > maxAbsScale {
                maxAbsScale = abs(groupScales[g])
                maxScale = groupScales[g]
            }
        }

        self.init(ql: .init(repeating: 0), qh: .init(repeating: 0), scales: .init(repeating: 0), d: 0)
        if maxAbsScale < KQuantSearch.groupMaxEpsilon {
            d = HalfFloat.fp16Bits(0)
            return
        }
        let iscale = -128 / maxScale
        d = HalfFloat.fp16Bits(1 / iscale)
        for g in 0..<16 {
            scales[g] = Int8(truncatingIfNeeded: Swift.min(127, Rounding.nearestInt(iscale * groupScales[g])))
        }

        // Re-round against the stored (fp16, 8-bit) scale; a zero scale keeps the fitted levels.
        let dAll = HalfFloat.float(fp16Bits: d)
        for g in 0..<16 {
            let groupD = dAll * Float(scales[g])
            if groupD == 0 { continue }
            for i in 0..<16 {
                let l = Rounding.nearestInt(x[16 * g + i] / groupD)
                levels[16 * g + i] = Int8(Swift.max(-32, Swift.min(31, l)) + 32)
            }
        }
        for h in 0..<2 {
            for l in 0..<32 {
                let j = 128 * h + l
                let (q1, q2, q3, q4) = (UInt8(bitPattern: levels[j]), UInt8(bitPattern: levels[j + 32]),
                                        UInt8(bitPattern: levels[j + 64]), UInt8(bitPattern: levels[j + 96]))
                ql[64 * h + l] = (q1 & 0x0F) | ((q3 & 0x0F) << 4)
                ql[64 * h + 32 + l] = (q2 & 0x0F) | ((q4 & 0x0F) << 4)
                qh[32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
            }
        }
    }

    /// gguf-py `Q6_K.dequantize_blocks`: `(d * sc) * q`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "Q6_K dequantizes 256 weights per block")
        let dAll = HalfFloat.float(fp16Bits: d)
        for i in 0..<256 {
            let (h, t, l) = (i / 128, (i % 128) / 32, i % 32)
            let low = (ql[64 * h + 32 * (t % 2) + l] >> (4 * (t / 2))) & 0x0F
            let high = (qh[32 * h + l] >> (2 * t)) & 3
            let q = Int32(low | (high << 4)) - 32
            let dl = dAll * Float(scales[i / 16])
            y[i] = dl * Float(q)
        }
    }
}
