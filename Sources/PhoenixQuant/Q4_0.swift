// Q4_0: 32 weights share one fp16 scale d; each weight is a 4-bit code q: w = d * (q - 8).
// Byte layout (18 bytes, ggml `block_q4_0`):
//   0..<2   d    fp16 bits
//   2..<18  qs   byte j: low nibble = weight j, high nibble = weight j + 16

/// 32 weights in 18 bytes: `w = d * (q - 8)`, q in 0...15.
public struct BlockQ4_0: QuantBlock {
    public static var quantType: QuantType { .q4_0 }
    public var d: UInt16                   // scale, fp16 bits
    public var qs: InlineArray<16, UInt8>  // low nibbles: weights 0..<16, high nibbles: 16..<32

    public init(d: UInt16, qs: InlineArray<16, UInt8>) {
        self.d = d
        self.qs = qs
    }
}

extension BlockQ4_0 {
    /// ggml `quantize_row_q4_0_ref` (gguf-py's `Q4_0.quantize_blocks` is the same): d = max / -8 for the
    /// weight of largest magnitude, which therefore gets code 0; codes are `(int8_t)(x/d + 8.5)` capped at 15.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "Q4_0 quantizes 32 weights per block")
        var amax: Float = 0, max: Float = 0  // first weight of largest magnitude, with its sign
        for v in x where amax < abs(v) {
            amax = abs(v)
            max = v
        }
        let d = max / -8
        let id: Float = d != 0 ? 1 / d : 0
        self.init(d: HalfFloat.fp16Bits(d), qs: .init(repeating: 0))
        for j in 0..<16 {
            let q0 = Swift.min(15, Rounding.truncateToInt8(x[j] * id + 8.5))
            let q1 = Swift.min(15, Rounding.truncateToInt8(x[j + 16] * id + 8.5))
            qs[j] = UInt8(truncatingIfNeeded: q0 | (q1 << 4))
        }
    }

    /// gguf-py `Q4_0.dequantize_blocks`: `d * (q - 8)`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "Q4_0 dequantizes 32 weights per block")
        let d = HalfFloat.float(fp16Bits: self.d)
        for j in 0..<16 {
            y[j] = d * Float(Int32(qs[j] & 0x0F) - 8)
            y[j + 16] = d * Float(Int32(qs[j] >> 4) - 8)
        }
    }
}
