// Q8_0: 32 weights share one fp16 scale d; each weight is a signed byte q: w = d * q.
// Byte layout (34 bytes, ggml `block_q8_0`):
//   0..<2   d    fp16 bits
//   2..<34  qs   int8 codes, weight j at byte 2 + j

/// 32 weights in 34 bytes: `w = d * q`, q in -127...127.
public struct BlockQ8_0: QuantBlock {
    public static var quantType: QuantType { .q8_0 }
    public var d: UInt16                  // scale, fp16 bits
    public var qs: InlineArray<32, Int8>  // one code per weight

    public init(d: UInt16, qs: InlineArray<32, Int8>) {
        self.d = d
        self.qs = qs
    }
}

extension BlockQ8_0 {
    /// ggml `quantize_row_q8_0_ref` (= gguf-py): d = amax / 127, codes `roundf(x / d)` (half away from zero).
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "Q8_0 quantizes 32 weights per block")
        var amax: Float = 0
        for v in x { amax = amax > abs(v) ? amax : abs(v) }  // ggml's MAX(amax, fabsf(v))
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        self.init(d: HalfFloat.fp16Bits(d), qs: .init(repeating: 0))
        for j in 0..<32 {
            qs[j] = Int8(truncatingIfNeeded: Rounding.truncate((x[j] * id).rounded(.toNearestOrAwayFromZero)))
        }
    }

    /// gguf-py `Q8_0.dequantize_blocks`: `q * d`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "Q8_0 dequantizes 32 weights per block")
        let d = HalfFloat.float(fp16Bits: self.d)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }
}
