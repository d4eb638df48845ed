// Q8_K: 256 weights share one float32 scale d; each weight is a signed byte q: w = d * q. It is ggml's
// intermediate format for K-quant dot products, so it also stores the sum of each group of 16 codes.
// Byte layout (292 bytes, ggml `block_q8_K`):
//   0..<4      d      float32 bits
//   4..<260    qs     int8 codes, weight j at byte 4 + j
//   260..<292  bsums  16 little-endian int16 sums: bsums[g] = qs[16g] + ... + qs[16g + 15]

/// 256 weights in 292 bytes: `w = d * q`, q in -127...127, with per-16 code sums for dot products.
public struct BlockQ8_K: QuantBlock {
    public static var quantType: QuantType { .q8_K }
    public var d: Float                        // scale
    public var qs: InlineArray<256, Int8>      // one code per weight
    public var bsums: InlineArray<16, Int16>   // sums of 16 consecutive codes

    public init(d: Float, qs: InlineArray<256, Int8>, bsums: InlineArray<16, Int16>) {
        self.d = d
        self.qs = qs
        self.bsums = bsums
    }
}

extension BlockQ8_K {
    /// ggml `quantize_row_q8_K_ref`: the weight of largest magnitude maps to -127 (d = max / -127, kept in
    /// float32), codes `nearest_int(x / d)` capped at 127. An all-zero block is all zero bytes.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 256, "Q8_K quantizes 256 weights per block")
        var max: Float = 0, amax: Float = 0
        for v in x where abs(v) > amax {
            amax = abs(v)
            max = v
        }
        self.init(d: 0, qs: .init(repeating: 0), bsums: .init(repeating: 0))
        if amax == 0 { return }
        let iscale = -127 / max
        for j in 0..<256 {
            qs[j] = Int8(truncatingIfNeeded: Swift.min(127, Rounding.nearestInt(iscale * x[j])))
        }
        for g in 0..<16 {
            var sum: Int32 = 0
            for i in 0..<16 { sum += Int32(qs[16 * g + i]) }
            bsums[g] = Int16(truncatingIfNeeded: sum)
        }
        d = 1 / iscale
    }

    /// ggml `dequantize_row_q8_K` (gguf-py has no Q8_K): `d * q`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 256, "Q8_K dequantizes 256 weights per block")
        for j in 0..<256 { y[j] = d * Float(qs[j]) }
    }
}
