// Q4_1: 32 weights share an fp16 scale d and an fp16 minimum m; each weight is a 4-bit code q: w = d * q + m.
// Byte layout (20 bytes, ggml `block_q4_1`):
//   0..<2   d    fp16 bits
//   2..<4   m    fp16 bits
//   4..<20  qs   byte j: low nibble = weight j, high nibble = weight j + 16

/// 32 weights in 20 bytes: `w = d * q + m`, q in 0...15.
public struct BlockQ4_1: QuantBlock {
    public static var quantType: QuantType { .q4_1 }
    public var d: UInt16                   // scale, fp16 bits
    public var m: UInt16                   // minimum, fp16 bits
    public var qs: InlineArray<16, UInt8>  // low nibbles: weights 0..<16, high nibbles: 16..<32

    public init(d: UInt16, m: UInt16, qs: InlineArray<16, UInt8>) {
        self.d = d
        self.m = m
        self.qs = qs
    }
}

extension BlockQ4_1 {
    /// ggml `quantize_row_q4_1_ref` (= gguf-py): d = (max - min) / 15, codes `(int8_t)((x - min)/d + 0.5)`
    /// capped at 15.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "Q4_1 quantizes 32 weights per block")
        var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
        for v in x {
            if v < min { min = v }
            if v > max { max = v }
        }
        let d = (max - min) / 15
        let id: Float = d != 0 ? 1 / d : 0
        self.init(d: HalfFloat.fp16Bits(d), m: HalfFloat.fp16Bits(min), qs: .init(repeating: 0))
        for j in 0..<16 {
            let q0 = Swift.min(15, Rounding.truncateToInt8((x[j] - min) * id + 0.5))
            let q1 = Swift.min(15, Rounding.truncateToInt8((x[j + 16] - min) * id + 0.5))
            qs[j] = UInt8(truncatingIfNeeded: q0 | (q1 << 4))
        }
    }

    /// gguf-py `Q4_1.dequantize_blocks`: `(d * q) + m`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "Q4_1 dequantizes 32 weights per block")
        let d = HalfFloat.float(fp16Bits: self.d)
        let m = HalfFloat.float(fp16Bits: self.m)
        for j in 0..<16 {
            y[j] = d * Float(qs[j] & 0x0F) + m
            y[j + 16] = d * Float(qs[j] >> 4) + m
        }
    }
}
