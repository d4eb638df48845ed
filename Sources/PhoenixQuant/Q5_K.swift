// Q5_K: a super-block of 256 weights in 8 groups of 32. Each group has a 6-bit scale sc and a 6-bit min m,
// multiplied by the fp16 super-block values d and dmin; each weight is a 5-bit code q:
//   w = (d * sc) * q - (dmin * m)
// Byte layout (176 bytes, ggml `block_q5_K`):
//   0..<2     d       fp16 bits
//   2..<4     dmin    fp16 bits
//   4..<16    scales  8 scales and 8 mins, 6 bits each (packed as Q4_K, see `ScaleMinK4`)
//   16..<48   qh      weight 32g + l: bit g of qh[l] is the code's 5th bit
//   48..<176  qs      low 4 bits, laid out as Q4_K's qs

/// 256 weights in 176 bytes (5.5 bits per weight): `w = d * sc * q - dmin * m`.
public struct BlockQ5_K: QuantBlock {
    public static var quantType: QuantType { .q5_K }
    public var d: UInt16                       // scale of the group scales, fp16 bits
    public var dmin: UInt16                    // scale of the group mins, fp16 bits
    public var scales: InlineArray<12, UInt8>  // 6-bit group scales and mins, packed
    public var qh: InlineArray<32, UInt8>      // 5th bit of each code
    public var qs: InlineArray<128, UInt8>     // low 4 bits of each code

    public init(d: UInt16, dmin: UInt16, scales: InlineArray<12, UInt8>, qh: InlineArray<32, UInt8>,
                qs: InlineArray<128, UInt8>) {
        self.d = d
        self.dmin = dmin
        self.scales = scales
        self.qh = qh
        self.qs = qs
    }
}

extension BlockQ5_K {
    /// ggml `quantize_row_q5_K_ref`: `make_qkx2_quants` with levels 0...31, rmin -0.5, rdelta 0.1, 15 steps.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "Q5_K quantizes 256 weights per block")
        let fit = ScaleMinK4.quantize(x, levelMax: 31, rmin: -0.5, rdelta: 0.1, steps: 15)
        self.init(d: fit.d, dmin: fit.dmin, scales: fit.scales, qh: .init(repeating: 0), qs: .init(repeating: 0))
        for c in 0..<4 {
            for l in 0..<32 {
                var low = fit.levels[64 * c + l], high = fit.levels[64 * c + 32 + l]
                if low > 15 {
                    low -= 16
                    qh[l] |= 1 << (2 * c)
                }
                if high > 15 {
                    high -= 16
                    qh[l] |= 2 << (2 * c)
                }
                qs[32 * c + l] = low | (high << 4)
            }
        }
    }

    /// gguf-py `Q5_K.dequantize_blocks`: `(d * sc) * q - (dmin * m)`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "Q5_K dequantizes 256 weights per block")
        let dAll = HalfFloat.float(fp16Bits: d), minAll = HalfFloat.float(fp16Bits: dmin)
        for g in 0..<8 {
            let (sc, m) = ScaleMinK4.unpack(scales, g)
            let groupD = dAll * Float(sc), groupM = minAll * Float(m)
            let (c, shift) = (g / 2, 4 * (g % 2))
            for l in 0..<32 {
                let q = ((qs[32 * c + l] >> shift) & 0x0F) | (((qh[l] >> g) & 1) << 4)
                y[32 * g + l] = groupD * Float(q) - groupM
            }
        }
    }
}
