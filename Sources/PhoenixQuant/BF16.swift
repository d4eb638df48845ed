// BF16: one bfloat16 weight per "block" (2 bytes, little-endian): the top half of a float32.
// Quantize follows gguf-py's `BF16.quantize_blocks` (NaN quieted, otherwise round to nearest even);
// dequantize shifts the bits back into place (gguf-py: `int16 -> int32 << 16`), exact.

/// One bf16 weight, as its bit pattern.
public struct BlockBF16: QuantBlock {
    public static var quantType: QuantType { .bf16 }
    public var bits: UInt16

    public init(bits: UInt16) { self.bits = bits }

    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 1, "BF16 holds 1 weight per block")
        bits = HalfFloat.bf16Bits(x[0])
    }

    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 1, "BF16 holds 1 weight per block")
        y[0] = HalfFloat.float(bf16Bits: bits)
    }
}
