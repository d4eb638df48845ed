// F32: one IEEE binary32 weight per "block" (4 bytes, little-endian). Stored and returned bit for bit,
// NaN payloads included (gguf-py: `data.view(np.float32)`).

/// One float32 weight, as its bit pattern.
public struct BlockF32: QuantBlock {
    public static var quantType: QuantType { .f32 }
    public var bits: UInt32

    public init(bits: UInt32) { self.bits = bits }

    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 1, "F32 holds 1 weight per block")
        bits = x[0].bitPattern
    }

    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 1, "F32 holds 1 weight per block")
        y[0] = Float(bitPattern: bits)
    }
}
