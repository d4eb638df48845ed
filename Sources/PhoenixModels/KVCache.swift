import PhoenixKernels

/// Keys and values of every layer for positions `0..<count`, stored as `precision` says.
///
/// Per layer: [capacity, kvHeadCount, headDim] for keys and the same for values. A position's row is
/// written once, when its token passes through the layer, and never read before; the memory is not
/// cleared, so a long context's pages become resident only as it fills.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    public let layerCount: Int
    /// Values per position in one layer: kvHeadCount × headDim.
    public let rowWidth: Int
    public let precision: KVPrecision
    /// Positions filled so far (the same in every layer between forward passes).
    public internal(set) var count = 0

    let keys: [UnsafeMutableRawPointer]
    let values: [UnsafeMutableRawPointer]

    public init(shape: DecoderShape, capacity: Int, precision: KVPrecision = .f16) {
        self.capacity = capacity
        self.precision = precision
        layerCount = shape.layerCount
        rowWidth = shape.kvHeadCount * shape.headDim
        let bytes = max(capacity, 1) * rowWidth * precision.bytes
        keys = (0..<shape.layerCount).map { _ in allocateStore(bytes) }
        values = (0..<shape.layerCount).map { _ in allocateStore(bytes) }
    }

    deinit {
        for pointer in keys + values { pointer.deallocate() }
    }

    /// Forgets positions from `position` on, so they can be computed again (e.g. after a stop string).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    /// Bytes held, for reports.
    public var byteCount: Int { 2 * layerCount * capacity * rowWidth * precision.bytes }
}

/// `bytes` of key or value store, 64-byte aligned and left untouched, so that its pages become resident
/// only as positions are written (a KV pool is mostly empty).
func allocateStore(_ bytes: Int) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
}
