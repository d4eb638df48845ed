// Q5_1: 32 weights share an fp16 scale d and an fp16 minimum m; each weight is a 5-bit code q: w = d * q + m.
// Byte layout (24 bytes, ggml `block_q5_1`):
//   0..<2   d    fp16 bits
//   2..<4   m    fp16 bits
//   4..<8   qh   32-bit little-endian mask: bit j = 5th bit of weight j
//   8..<24  qs   byte j: low nibble = low 4 bits of weight j, high nibble = those of weight j + 16

/// 32 weights in 24 bytes: `w = d * q + m`, q in 0...31.
public struct BlockQ5_1: QuantBlock {
    public static var quantType: QuantType { .q5_1 }
    public var d: UInt16                   // scale, fp16 bits
    public var m: UInt16                   // minimum, fp16 bits
    public var qh: InlineArray<4, UInt8>   // high bits, one per weight, little-endian UInt32
    public var qs: InlineArray<16, UInt8>  // low nibbles: weights 0..<16, high nibbles: 16..<32

    public init(d: UInt16, m: UInt16, qh: InlineArray<4, UInt8>, qs: InlineArray<16, UInt8>) {
        self.d = d
        self.m = m
        self.qh = qh
        self.qs = qs
    }
}

extension BlockQ5_1 {
    /// ggml `quantize_row_q5_1_ref` (= gguf-py): d = (max - min) / 31, codes `(uint8_t)((x - min)/d + 0.5)`.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "Q5_1 quantizes 32 weights per block")
        var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
        for v in x {
            if v < min { min = v }
            if v > max { max = v }
        }
        let d = (max - min) / 31
        let id: Float = d != 0 ? 1 / d : 0
        self.init(d: HalfFloat.fp16Bits(d), m: HalfFloat.fp16Bits(min), qh: .init(repeating: 0),
                  qs: .init(repeating: 0))
        var high: UInt32 = 0
        for j in 0..<16 {
            let q0 = UInt8(truncatingIfNeeded: Rounding.truncate((x[j] - min) * id + 0.5))
            let q1 = UInt8(truncatingIfNeeded: Rounding.truncate((x[j + 16] - min) * id + 0.5))
            qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4)
            high |= UInt32((q0 & 0x10) >> 4) << j
            high |= UInt32((q1 & 0x10) >> 4) << (j + 16)
        }
        for i in 0..<4 { qh[i] = UInt8(truncatingIfNeeded: high >> (8 * i)) }
    }

    /// gguf-py `Q5_1.dequantize_blocks`: `(d * q) + m`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "Q5_1 dequantizes 32 weights per block")
        let d = HalfFloat.float(fp16Bits: self.d)
        let m = HalfFloat.float(fp16Bits: self.m)
        let high = UInt32(qh[0]) | UInt32(qh[1]) << 8 | UInt32(qh[2]) << 16 | UInt32(qh[3]) << 24
        for j in 0..<16 {
            let q0 = UInt32(qs[j] & 0x0F) | ((high >> j) & 1) << 4
            let q1 = UInt32(qs[j] >> 4) | ((high >> (j + 16)) & 1) << 4
            y[j] = d * Float(q0) + m
            y[j + 16] = d * Float(q1) + m
        }
    }
}
