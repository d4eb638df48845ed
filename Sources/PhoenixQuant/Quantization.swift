/// Whole-buffer quantization and dequantization for every `QuantType`, one block at a time through the
/// format's `QuantBlock`. Reference scalar code: exact and readable, not fast. Stateless and thread-safe;
/// allocates only in the `[UInt8]`/`[Float]` conveniences.
public enum Quantization {
    /// Dequantizes whole blocks: src.count == blocks * bytesPerBlock, dst.count == blocks * weightsPerBlock.
    /// Output is bit-exact with gguf-py's `gguf.quants.dequantize` (Q8_K, absent there, with ggml's).
    public static func dequantize(_ type: QuantType, from src: UnsafeRawBufferPointer,
                                  into dst: UnsafeMutableBufferPointer<Float>) {
        dequantize(type.blockType, from: src, into: dst)
    }

    /// Quantizes whole blocks: src.count == blocks * weightsPerBlock, dst.count == blocks * bytesPerBlock.
    /// Output is byte-exact with ggml's `quantize_row_*_ref` (and with gguf-py where it quantizes).
    public static func quantize(_ type: QuantType, from src: UnsafeBufferPointer<Float>,
                                into dst: UnsafeMutableRawBufferPointer) {
        quantize(type.blockType, from: src, into: dst)
    }

    /// Dequantizes whole blocks into a new array; `bytes.count` must be a multiple of bytesPerBlock.
    public static func dequantize(_ type: QuantType, _ bytes: [UInt8]) -> [Float] {
        let traits = type.traits
        let count = bytes.count / traits.bytesPerBlock * traits.weightsPerBlock
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { dequantize(type, from: $0, into: out) }
            initialized = count
        }
    }

    /// Quantizes whole blocks into a new array; `values.count` must be a multiple of weightsPerBlock.
    public static func quantize(_ type: QuantType, _ values: [Float]) -> [UInt8] {
        let traits = type.traits
        let count = values.count / traits.weightsPerBlock * traits.bytesPerBlock
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            values.withUnsafeBufferPointer { quantize(type, from: $0, into: UnsafeMutableRawBufferPointer(out)) }
            initialized = count
        }
    }

    static func dequantize<Block: QuantBlock>(_: Block.Type, from src: UnsafeRawBufferPointer,
                                              into dst: UnsafeMutableBufferPointer<Float>) {
        let (weights, bytes) = (Block.quantType.traits.weightsPerBlock, MemoryLayout<Block>.size)
        let blockCount = src.count / bytes
        precondition(src.count == blockCount * bytes && dst.count == blockCount * weights,
                     "dequantize \(Block.quantType): \(src.count) bytes into \(dst.count) floats is not whole blocks")
        for b in 0..<blockCount {
            let block = src.loadUnaligned(fromByteOffset: b * bytes, as: Block.self)
            block.dequantize(into: UnsafeMutableBufferPointer(rebasing: dst[b * weights ..< (b + 1) * weights]))
        }
    }

    static func quantize<Block: QuantBlock>(_: Block.Type, from src: UnsafeBufferPointer<Float>,
                                            into dst: UnsafeMutableRawBufferPointer) {
        let (weights, bytes) = (Block.quantType.traits.weightsPerBlock, MemoryLayout<Block>.size)
        let blockCount = src.count / weights
        precondition(src.count == blockCount * weights && dst.count == blockCount * bytes,
                     "quantize \(Block.quantType): \(src.count) floats into \(dst.count) bytes is not whole blocks")
        for b in 0..<blockCount {
            let block = Block(quantizing: UnsafeBufferPointer(rebasing: src[b * weights ..< (b + 1) * weights]))
            dst.storeBytes(of: block, toByteOffset: b * bytes, as: Block.self)
        }
    }
}
