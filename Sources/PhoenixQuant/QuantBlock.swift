/// One block of a GGUF tensor format: its stored properties are the file's bytes in order (no padding,
/// `MemoryLayout<Self>.size == quantType.traits.bytesPerBlock`), plus the reference (de)quantizer.
///
/// Blocks sit at any byte offset in a file, so read and write them with `loadUnaligned` and
/// `storeBytes(of:toByteOffset:as:)`. Multi-byte fields are little-endian bit patterns (fp16 as `UInt16`),
/// matching files on every platform Phoenix runs on (all little-endian).
public protocol QuantBlock: BitwiseCopyable, Sendable {
    /// The GGUF format this block belongs to.
    static var quantType: QuantType { get }

    /// Quantizes `weights.count == weightsPerBlock` floats exactly like ggml's `quantize_row_*_ref`
    /// (same float operations in the same order, so the bytes match).
    init(quantizing weights: UnsafeBufferPointer<Float>)

    /// Writes `weights.count == weightsPerBlock` floats in gguf-py's order, bit-exact with
    /// `gguf.quants.dequantize` (same float32 operations in the same order).
    func dequantize(into weights: UnsafeMutableBufferPointer<Float>)
}

extension QuantType {
    /// The block struct of this format; `Quantization` works through it.
    public var blockType: any QuantBlock.Type {
        switch self {
        case .f32: BlockF32.self
        case .f16: BlockF16.self
        case .bf16: BlockBF16.self
        case .q4_0: BlockQ4_0.self
        case .q4_1: BlockQ4_1.self
        case .q5_0: BlockQ5_0.self
        case .q5_1: BlockQ5_1.self
        case .q8_0: BlockQ8_0.self
        case .q2_K: BlockQ2_K.self
        case .q3_K: BlockQ3_K.self
        case .q4_K: BlockQ4_K.self
        case .q5_K: BlockQ5_K.self
        case .q6_K: BlockQ6_K.self
        case .q8_K: BlockQ8_K.self
        case .iq4_NL: BlockIQ4_NL.self
        case .iq4_XS: BlockIQ4_XS.self
        case .mxfp4: BlockMXFP4.self
        }
    }
}
