// F16: one IEEE binary16 weight per "block" (2 bytes, little-endian).
// Quantize rounds to nearest even like numpy's `astype(np.float16)` (what gguf-py does); dequantize is exact.

/// One fp16 weight, as its bit pattern.
public struct BlockF16: QuantBlock {
    public static var quantType: QuantType { .f16 }
    public var bits: UInt16

    public init(bits: UInt16) { self.bits = bits }

    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 1, "F16 holds 1 weight per block")
        bits = HalfFloat.fp16Bits(x[0])
    }

    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 1, "F16 holds 1 weight per block")
        y[0] = HalfFloat.float(fp16Bits: bits)
    }
}
