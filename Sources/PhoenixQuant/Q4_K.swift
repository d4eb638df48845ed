// Q4_K: a super-block of 256 weights in 8 groups of 32. Each group has a 6-bit scale sc and a 6-bit min m,
// multiplied by the fp16 super-block values d and dmin; each weight is a 4-bit code q:
//   w = (d * sc) * q - (dmin * m)
// Byte layout (144 bytes, ggml `block_q4_K`):
//   0..<2     d       fp16 bits
//   2..<4     dmin    fp16 bits
//   4..<16    scales  8 scales and 8 mins, 6 bits each (see `ScaleMinK4`)
//   16..<144  qs      chunk c = weights 64c..<64c+64: qs[32c + l] holds weight 64c + l in its low nibble
//                     and weight 64c + 32 + l in its high nibble

/// 256 weights in 144 bytes (4.5 bits per weight): `w = d * sc * q - dmin * m`.
public struct BlockQ4_K: QuantBlock {
    public static var quantType: QuantType { .q4_K }
    public var d: UInt16                       // scale of the group scales, fp16 bits
    public var dmin: UInt16                    // scale of the group mins, fp16 bits
    public var scales: InlineArray<12, UInt8>  // 6-bit group scales and mins, packed
    public var qs: InlineArray<128, UInt8>     // 4-bit codes

    public init(d: UInt16, dmin: UInt16, scales: InlineArray<12, UInt8>, qs: InlineArray<128, UInt8>) {
        self.d = d
        self.dmin = dmin
        self.scales = scales
        self.qs = qs
    }
}

extension BlockQ4_K {
    /// The eight 6-bit scales and mins of the block at `block` (Q4_K's and Q5_K's layout), a byte each,
    /// unpacked four at a time in 32-bit words for the kernels: units 0..<4 keep scale and min in the low
    /// six bits of bytes 4..<8 and 8..<12; units 4..<8 keep their low four bits in bytes 12..<16 (scale in
    /// the low nibble, min in the high one) and their top two bits in the top bits of bytes 4..<8
    /// (scales) and 8..<12 (mins). Byte j of each word is unit j's, as `ScaleMinK4.unpack` gives it.
    @inlinable @inline(__always)
    public static func packedScalesAndMins(_ block: UnsafeRawPointer) -> (scales: UInt64, mins: UInt64) {
        let w0 = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let w1 = block.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let w2 = block.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        let low6: UInt32 = 0x3F3F_3F3F, low4: UInt32 = 0x0F0F_0F0F, low2: UInt32 = 0x0303_0303
        return (UInt64(w0 & low6) | UInt64((w2 & low4) | ((w0 >> 6) & low2) << 4) << 32,
                UInt64(w1 & low6) | UInt64(((w2 >> 4) & low4) | ((w1 >> 6) & low2) << 4) << 32)
    }
}

/// The 12-byte packing of eight 6-bit scales and eight 6-bit mins shared by Q4_K and Q5_K:
///   bytes 0..<4:  scale j (j < 4) in bits 0..<6; top two bits of scale j + 4 in bits 6..<8
///   bytes 4..<8:  min j (j < 4) in bits 0..<6;   top two bits of min j + 4 in bits 6..<8
///   bytes 8..<12: low nibble of scale j + 4, high nibble of min j + 4 (low four bits each)
enum ScaleMinK4 {
    /// ggml `get_scale_min_k4`: scale and min of group `j` (0..<8).
    static func unpack(_ packed: InlineArray<12, UInt8>, _ j: Int) -> (scale: UInt8, min: UInt8) {
        if j < 4 { return (packed[j] & 63, packed[j + 4] & 63) }
        return ((packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4), (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4))
    }

    /// Packs the 6-bit scale and min of group `j`, in increasing `j` from zeroed bytes, as ggml does.
    static func pack(_ packed: inout InlineArray<12, UInt8>, _ j: Int, scale ls: UInt8, min lm: UInt8) {
        if j < 4 {
            packed[j] = ls
            packed[j + 4] = lm
        } else {
            packed[j + 4] = (ls & 0x0F) | ((lm & 0x0F) << 4)
            packed[j - 4] |= (ls >> 4) << 6
            packed[j] |= (lm >> 4) << 6
        }
    }

    /// The quantizers of Q4_K and Q5_K before their level packing (ggml `quantize_row_q4_K_ref` and
    /// `quantize_row_q5_K_ref` share it): each group of 32 is fitted by `make_qkx2_quants` with weights
    /// rms(group) + |x|, scales and mins are rounded to 6 bits against the largest of each, and every
    /// weight is re-rounded against its group's stored scale and min. Returns d, dmin, the packed scales
    /// and the levels (0...levelMax).
    static func quantize(_ x: UnsafeBufferPointer<Float>, levelMax nmax: Int32, rmin: Float, rdelta: Float,
                         steps: Int)
        -> (d: UInt16, dmin: UInt16, scales: InlineArray<12, UInt8>, levels: InlineArray<256, UInt8>) {
        var levels = InlineArray<256, UInt8>(repeating: 0)
        var groupScales = InlineArray<8, Float>(repeating: 0), groupMins = InlineArray<8, Float>(repeating: 0)
        var weights = InlineArray<32, Float>(repeating: 0)
        var maxScale: Float = 0, maxMin: Float = 0
        for g in 0..<8 {
            let group = UnsafeBufferPointer(rebasing: x[32 * g ..< 32 * g + 32])
            var sumX2: Float = 0
            for l in 0..<32 { sumX2 += group[l] * group[l] }
            let averageX = (sumX2 / 32).squareRoot()
            for l in 0..<32 { weights[l] = averageX + abs(group[l]) }
            let fit = weights.span.withUnsafeBufferPointer { w in
                KQuantSearch.makeQKX2Quants(levelMax: nmax, x: group, weights: w, levels: &levels, at: 32 * g,
                                            rmin: rmin, rdelta: rdelta, steps: steps, useMAD: false)
            }
            groupScales[g] = fit.scale
            groupMins[g] = fit.min
            if fit.scale > maxScale { maxScale = fit.scale }
            if fit.min > maxMin { maxMin = fit.min }
        }

        var packed = InlineArray<12, UInt8>(repeating: 0)
        let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
        for g in 0..<8 {
            let ls = UInt8(truncatingIfNeeded: Rounding.nearestInt(inverseScale * groupScales[g]))
            let lm = UInt8(truncatingIfNeeded: Rounding.nearestInt(inverseMin * groupMins[g]))
            pack(&packed, g, scale: Swift.min(63, ls), min: Swift.min(63, lm))
        }
        let d = HalfFloat.fp16Bits(maxScale / 63)
        let dmin = HalfFloat.fp16Bits(maxMin / 63)

        // Re-round against the stored (fp16, 6-bit) scale and min; a zero scale keeps the fitted levels.
        let dAll = HalfFloat.float(fp16Bits: d), minAll = HalfFloat.float(fp16Bits: dmin)
        for g in 0..<8 {
            let (sc, m) = unpack(packed, g)
            let groupD = dAll * Float(sc)
            if groupD == 0 { continue }
            let groupM = minAll * Float(m)
            for i in 0..<32 {
                let l = Rounding.nearestInt((x[32 * g + i] + groupM) / groupD)
                levels[32 * g + i] = UInt8(Swift.max(0, Swift.min(nmax, l)))
            }
        }
        return (d, dmin, packed, levels)
    }
}

extension BlockQ4_K {
    /// ggml `quantize_row_q4_K_ref`: `make_qkx2_quants` with levels 0...15, rmin -1, rdelta 0.1, 20 steps.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "Q4_K quantizes 256 weights per block")
        let fit = ScaleMinK4.quantize(x, levelMax: 15, rmin: -1, rdelta: 0.1, steps: 20)
        self.init(d: fit.d, dmin: fit.dmin, scales: fit.scales, qs: .init(repeating: 0))
        for c in 0..<4 {
            for l in 0..<32 { qs[32 * c + l] = fit.levels[64 * c + l] | (fit.levels[64 * c + 32 + l] << 4) }
        }
    }

    /// gguf-py `Q4_K.dequantize_blocks`: `(d * sc) * q - (dmin * m)`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "Q4_K dequantizes 256 weights per block")
        let dAll = HalfFloat.float(fp16Bits: d), minAll = HalfFloat.float(fp16Bits: dmin)
        for g in 0..<8 {
            let (sc, m) = ScaleMinK4.unpack(scales, g)
            let groupD = dAll * Float(sc), groupM = minAll * Float(m)
            let (c, shift) = (g / 2, 4 * (g % 2))  // group g lives in chunk g/2, nibble g%2
            for l in 0..<32 {
                let q = (qs[32 * c + l] >> shift) & 0x0F
                y[32 * g + l] = groupD * Float(q) - groupM
            }
        }
    }
}
