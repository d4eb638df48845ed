// IQ4_XS: a super-block of 256 weights in 8 groups of 32 on IQ4_NL's non-linear grid. Each group has a
// signed 6-bit scale ls (stored as ls + 32) multiplied by the fp16 super-block scale d:
//   w = (d * ls) * kvalues[q]
// Byte layout (136 bytes, ggml `block_iq4_xs`):
//   0..<2     d         fp16 bits
//   2..<4     scalesH   little-endian UInt16: bits 2g..<2g+2 = top two bits of group g's scale
//   4..<8     scalesL   byte g/2: low four bits of group g's scale, in the low nibble for even g
//   8..<136   qs        group g = bytes 16g..<16g+16: low nibble = weight 32g + j, high = weight 32g + 16 + j

/// 256 weights in 136 bytes (4.25 bits per weight): `w = d * ls * kvalues[q]`.
public struct BlockIQ4_XS: QuantBlock {
    public static var quantType: QuantType { .iq4_XS }
    public var d: UInt16                       // scale of the group scales, fp16 bits
    public var scalesH: UInt16                 // top two bits of each group scale
    public var scalesL: InlineArray<4, UInt8>  // low four bits of each group scale
    public var qs: InlineArray<128, UInt8>     // grid indices, two per byte

    public init(d: UInt16, scalesH: UInt16, scalesL: InlineArray<4, UInt8>, qs: InlineArray<128, UInt8>) {
        self.d = d
        self.scalesH = scalesH
        self.scalesL = scalesL
        self.qs = qs
    }

    /// The 6-bit scale of group `g` (0..<8), offset removed: -32...31.
    func groupScale(_ g: Int) -> Int32 {
        let low = (scalesL[g / 2] >> (4 * (g % 2))) & 0x0F
        let high = UInt8(truncatingIfNeeded: scalesH >> (2 * g)) & 3
        return Int32(low | (high << 4)) - 32
    }
}

extension BlockIQ4_XS {
    /// ggml `quantize_iq4_xs` without importance weights (`quantize_row_iq4_nl_impl`, ntry = 7): each
    /// group's scale is searched on the grid, the group scales are rounded to 6 bits against
    /// d = -maxScale / 32, and every weight is re-indexed against its group's rounded scale.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "IQ4_XS quantizes 256 weights per block")
        var indices = InlineArray<256, UInt8>(repeating: IQ4Grid.zeroIndex)
        var groupScales = InlineArray<8, Float>(repeating: 0)
        var maxScale: Float = 0, amaxScale: Float = 0
        for g in 0..<8 {
            let group = UnsafeBufferPointer(rebasing: x[32 * g ..< 32 * g + 32])
            groupScales[g] = IQ4Grid.fitGroup(group, tries: 7, indices: &indices, at: 32 * g)
            if abs(groupScales[g]) > amaxScale {
                amaxScale = abs(groupScales[g])
                maxScale = groupScales[g]
            }
        }

        let d = -maxScale / 32
        let id: Float = d != 0 ? 1 / d : 0
        self.init(d: HalfFloat.fp16Bits(d), scalesH: 0, scalesL: .init(repeating: 0), qs: .init(repeating: 0))
        for g in 0..<8 {
            var l = Swift.max(-32, Swift.min(31, Rounding.nearestInt(id * groupScales[g])))
            let dl = d * Float(l)  // the unrounded d, as ggml
            let idl: Float = dl != 0 ? 1 / dl : 0
            for j in 0..<32 { indices[32 * g + j] = IQ4Grid.bestIndex(idl * x[32 * g + j]) }
            l += 32
            let (low, high) = (UInt8(l & 0x0F), UInt8(l >> 4))
            if g % 2 == 0 { scalesL[g / 2] = low } else { scalesL[g / 2] |= low << 4 }
            scalesH |= UInt16(high) << (2 * g)
        }
        for g in 0..<8 {
            for j in 0..<16 { qs[16 * g + j] = indices[32 * g + j] | (indices[32 * g + 16 + j] << 4) }
        }
    }

    /// gguf-py `IQ4_XS.dequantize_blocks`: `(d * ls) * kvalues[q]`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "IQ4_XS dequantizes 256 weights per block")
        let dAll = HalfFloat.float(fp16Bits: d)
        for g in 0..<8 {
            let dl = dAll * Float(groupScale(g))
            for j in 0..<16 {
                let byte = qs[16 * g + j]
                y[32 * g + j] = dl * Float(IQ4Grid.kvalues[Int(byte & 0x0F)])
                y[32 * g + 16 + j] = dl * Float(IQ4Grid.kvalues[Int(byte >> 4)])
            }
        }
    }
}
