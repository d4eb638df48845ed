import PhoenixKernels

/// Keys and values of many sequences in one pool of fixed-size blocks (vLLM's PagedAttention layout).
///
/// Per layer, keys are [blockCount, blockSize, kvHeadCount, headDim], stored as `precision` says, and
/// values the same. Which block holds which positions of a sequence is the caller's business (a block
/// table per sequence); this type only owns the memory. Blocks are not zeroed: a position is always
/// written before it is read.
public final class PagedKVCache: @unchecked Sendable {
    public let blockCount: Int
    public let blockSize: Int
    public let layerCount: Int
    /// Values per position in one layer: kvHeadCount × headDim.
    public let rowWidth: Int
    public let precision: KVPrecision

    let keys: [UnsafeMutableRawPointer]
    let values: [UnsafeMutableRawPointer]

    public init(shape: DecoderShape, blockCount: Int, blockSize: Int, precision: KVPrecision = .f16) {
        precondition(blockCount > 0 && blockSize > 0, "a KV pool needs at least one block of at least one position")
        self.blockCount = blockCount
        self.blockSize = blockSize
        layerCount = shape.layerCount
        rowWidth = shape.kvHeadCount * shape.headDim
        self.precision = precision
        let bytes = blockCount * blockSize * rowWidth * precision.bytes
        keys = (0..<shape.layerCount).map { _ in allocateStore(bytes) }
        values = (0..<shape.layerCount).map { _ in allocateStore(bytes) }
    }

    deinit {
        for pointer in keys + values { pointer.deallocate() }
    }

    /// Bytes a pool of this shape holds, for sizing it before making it.
    public static func byteCount(shape: DecoderShape, blockCount: Int, blockSize: Int, precision: KVPrecision = .f16) -> Int {
        2 * shape.layerCount * blockCount * blockSize * shape.kvHeadCount * shape.headDim * precision.bytes
    }

    public var byteCount: Int { 2 * layerCount * blockCount * blockSize * rowWidth * precision.bytes }

    /// Copies the first `positions` positions of block `source` into block `destination` in every layer
    /// (copy-on-write of a shared, partly filled block).
    public func copyBlock(_ source: Int, to destination: Int, positions: Int) {
        precondition(source >= 0 && source < blockCount && destination >= 0 && destination < blockCount)
        let bytes = min(positions, blockSize) * rowWidth * precision.bytes, blockBytes = blockSize * rowWidth * precision.bytes
        for layer in 0..<layerCount {
            (keys[layer] + destination * blockBytes).copyMemory(from: keys[layer] + source * blockBytes, byteCount: bytes)
            (values[layer] + destination * blockBytes).copyMemory(from: values[layer] + source * blockBytes, byteCount: bytes)
        }
    }
}
