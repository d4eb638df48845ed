// Q3_K: a super-block of 256 weights in 16 groups of 16. Each group has a signed 6-bit scale sc (stored
// as sc + 32) multiplied by the fp16 super-block scale d; each weight is a 3-bit code q in -4...3:
//   w = (d * sc) * q
// Byte layout (110 bytes, ggml `block_q3_K`):
//   0..<32    hmask   weight i = 32b + l: bit b of hmask[l] is set when q >= 0 (the code's high bit)
//   32..<96   qs      weights 128h + 32s + l: bits 2s..<2s+2 of qs[32h + l] (the low two bits of q + 4)
//   96..<108  scales  6-bit group scales: low nibbles in bytes 0..<8 (groups 0..<8 low, 8..<16 high
//                     nibble), top two bits of group g in bits 2*(g/4) of byte 8 + g%4
//   108..<110 d       fp16 bits

/// 256 weights in 110 bytes (3.4375 bits per weight): `w = d * sc * q`.
public struct BlockQ3_K: QuantBlock {
    public static var quantType: QuantType { .q3_K }
    public var hmask: InlineArray<32, UInt8>   // high bit of each code
    public var qs: InlineArray<64, UInt8>      // low two bits of each code, four per byte
    public var scales: InlineArray<12, UInt8>  // 16 group scales, 6 bits each, offset by 32
    public var d: UInt16                       // scale of the group scales, fp16 bits

    public init(hmask: InlineArray<32, UInt8>, qs: InlineArray<64, UInt8>, scales: InlineArray<12, UInt8>,
                d: UInt16) {
        self.hmask = hmask
        self.qs = qs
        self.scales = scales
        self.d = d
    }

    /// The 6-bit scale of group `g` (0..<16), offset removed: -32...31.
    func groupScale(_ g: Int) -> Int32 {
        let low = g < 8 ? scales[g] & 0x0F : scales[g - 8] >> 4
        let high = (scales[8 + g % 4] >> (2 * (g / 4))) & 3
        return Int32(low | (high << 4)) - 32
    }
}

extension BlockQ3_K {
    /// ggml `quantize_row_q3_K_ref`: each group fitted by `make_q3_quants` (levels -4...3), group scales
    /// rounded to 6 bits against the one of largest magnitude, then every weight re-rounded against its
    /// group's stored scale.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "Q3_K quantizes 256 weights per block")
        var levels = InlineArray<256, Int8>(repeating: 0)
        var groupScales = InlineArray<16, Float>(repeating: 0)
        var maxScale: Float = 0, amax: Float = 0  // the group scale of largest magnitude, with its sign
        for g in 0..<16 {
            let group = UnsafeBufferPointer(rebasing: x[16 * g ..< 16 * g + 16])
            groupScales[g] = KQuantSearch.makeQ3Quants(levelMax: 4, x: group, levels: &levels, at: 16 * g)
            if abs(groupScales[g]) > amax {
                amax = abs(groupScales[g])
                maxScale = groupScales[g]
            }
        }

        self.init(hmask: .init(repeating: 0), qs: .init(repeating: 0), scales: .init(repeating: 0), d: 0)
        if maxScale != 0 {
            let iscale = -32 / maxScale
            for g in 0..<16 {
                let rounded = Int8(truncatingIfNeeded: Rounding.nearestInt(iscale * groupScales[g]))
                let l = UInt8(Swift.max(-32, Swift.min(31, rounded)) + 32)
                if g < 8 {
                    scales[g] = l & 0x0F
                } else {
                    scales[g - 8] |= (l & 0x0F) << 4
                }
                scales[8 + g % 4] |= (l >> 4) << (2 * (g / 4))
            }
            d = HalfFloat.fp16Bits(1 / iscale)
        } else {
            d = HalfFloat.fp16Bits(0)
        }

        // Re-round against the stored (fp16, 6-bit) scale; a zero scale keeps the fitted levels.
        let dAll = HalfFloat.float(fp16Bits: d)
        for g in 0..<16 {
            let groupD = dAll * Float(groupScale(g))
            if groupD == 0 { continue }
            for i in 0..<16 {
                let l = Rounding.nearestInt(x[16 * g + i] / groupD)
                levels[16 * g + i] = Int8(Swift.max(-4, Swift.min(3, l)) + 4)
            }
        }

        // Levels are now 0...7: the high bit goes to hmask (weight i = 32b + m sets bit b of hmask[m]).
        for i in 0..<256 where levels[i] > 3 {
            hmask[i % 32] |= 1 << (i / 32)
            levels[i] -= 4
        }
        for h in 0..<2 {
            for l in 0..<32 {
                let j = 128 * h + l
                let packed = levels[j] | (levels[j + 32] << 2) | (levels[j + 64] << 4) | (levels[j + 96] << 6)
                qs[32 * h + l] = UInt8(bitPattern: packed)
            }
        }
    }

    /// gguf-py `Q3_K.dequantize_blocks`: `(d * sc) * q` with q = low bits - 4 when the hmask bit is clear.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "Q3_K dequantizes 256 weights per block")
        let dAll = HalfFloat.float(fp16Bits: d)
        for i in 0..<256 {
            let (h, s, l) = (i / 128, (i % 128) / 32, i % 32)
            let low = Int32((qs[32 * h + l] >> (2 * s)) & 3)
            let highClear = (hmask[i % 32] >> (i / 32)) & 1 == 0
            let q = low - (highClear ? 4 : 0)
            let dl = dAll * Float(groupScale(i / 16))
            y[i] = dl * Float(q)
        }
    }
}
