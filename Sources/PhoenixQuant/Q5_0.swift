// Q5_0: 32 weights share one fp16 scale d; each weight is a 5-bit code q: w = d * (q - 16).
// Byte layout (22 bytes, ggml `block_q5_0`):
//   0..<2   d    fp16 bits
//   2..<6   qh   32-bit little-endian mask: bit j = 5th bit of weight j
//   6..<22  qs   byte j: low nibble = low 4 bits of weight j, high nibble = those of weight j + 16

/// 32 weights in 22 bytes: `w = d * (q - 16)`, q in 0...31.
public struct BlockQ5_0: QuantBlock {
    public static var quantType: QuantType { .q5_0 }
    public var d: UInt16                   // scale, fp16 bits
    public var qh: InlineArray<4, UInt8>   // high bits, one per weight, little-endian UInt32
    public var qs: InlineArray<16, UInt8>  // low nibbles: weights 0..<16, high nibbles: 16..<32

    public init(d: UInt16, qh: InlineArray<4, UInt8>, qs: InlineArray<16, UInt8>) {
        self.d = d
        self.qh = qh
        self.qs = qs
    }
}

extension BlockQ5_0 {
    /// ggml `quantize_row_q5_0_ref` (= gguf-py): d = max / -16 for the weight of largest magnitude; codes
    /// `(int8_t)(x/d + 16.5)` capped at 31.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "Q5_0 quantizes 32 weights per block")
        var amax: Float = 0, max: Float = 0
        for v in x where amax < abs(v) {
            amax = abs(v)
            max = v
        }
        let d = max / -16
        let id: Float = d != 0 ? 1 / d : 0
        self.init(d: HalfFloat.fp16Bits(d), qh: .init(repeating: 0), qs: .init(repeating: 0))
        var high: UInt32 = 0
        for j in 0..<16 {
            let q0 = Swift.min(31, Rounding.truncateToInt8(x[j] * id + 16.5))
            let q1 = Swift.min(31, Rounding.truncateToInt8(x[j + 16] * id + 16.5))
            qs[j] = UInt8(truncatingIfNeeded: (q0 & 0x0F) | ((q1 & 0x0F) << 4))
            high |= UInt32((q0 & 0x10) >> 4) << j
            high |= UInt32((q1 & 0x10) >> 4) << (j + 16)
        }
        for i in 0..<4 { qh[i] = UInt8(truncatingIfNeeded: high >> (8 * i)) }
    }

    /// gguf-py `Q5_0.dequantize_blocks`: `d * (q - 16)`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "Q5_0 dequantizes 32 weights per block")
        let d = HalfFloat.float(fp16Bits: self.d)
        let high = UInt32(qh[0]) | UInt32(qh[1]) << 8 | UInt32(qh[2]) << 16 | UInt32(qh[3]) << 24
        for j in 0..<16 {
            let q0 = Int32(qs[j] & 0x0F) | Int32((high >> j) & 1) << 4
            let q1 = Int32(qs[j] >> 4) | Int32((high >> (j + 16)) & 1) << 4
            y[j] = d * Float(q0 - 16)
            y[j + 16] = d * Float(q1 - 16)
        }
    }
}
