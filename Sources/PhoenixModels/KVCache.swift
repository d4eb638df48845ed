/// Keys and values of every layer for positions `0..<count`, float32.
///
/// Per layer: [capacity, kvHeadCount, headDim] for keys and the same for values. A position's row is
/// written once, when its token passes through the layer.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    public let layerCount: Int
    /// Floats per position in one layer: kvHeadCount × headDim.
    public let rowWidth: Int
    /// Positions filled so far (the same in every layer between forward passes).
    public internal(set) var count = 0

    let keys: [FloatBuffer]
    let values: [FloatBuffer]

    public init(shape: DecoderShape, capacity: Int) {
        self.capacity = capacity
        layerCount = shape.layerCount
        rowWidth = shape.kvHeadCount * shape.headDim
        keys = (0..<shape.layerCount).map { _ in FloatBuffer(capacity: capacity * shape.kvHeadCount * shape.headDim) }
        values = (0..<shape.layerCount).map { _ in FloatBuffer(capacity: capacity * shape.kvHeadCount * shape.headDim) }
    }

    /// Forgets positions from `position` on, so they can be computed again (e.g. after a stop string).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    /// Bytes held, for reports.
    public var byteCount: Int { 2 * layerCount * capacity * rowWidth * MemoryLayout<Float>.size }
}
