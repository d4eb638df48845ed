import PhoenixKernels

/// Owned float memory for activations: allocated once, reused for every step, freed with the owner.
/// Cache-line aligned, so the kernels' 32-byte loads of a row never straddle two lines (malloc's 16-byte
/// alignment makes every other one do so, and the speed then depends on where the allocator put it).
public final class FloatBuffer: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        pointer = Self.allocate(self.capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` floats; the old contents are not kept.
    public func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        capacity = count
        pointer = Self.allocate(count)
    }

    /// Room for `count` floats, 64-byte aligned, zeroed.
    static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64)
            .initializeMemory(as: Float.self, repeating: 0, count: count)
    }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

/// Activations of one forward pass over `T` tokens, sized on first use and reused afterwards.
/// Shapes are row-major, one row per token.
public final class Scratch: @unchecked Sendable {
    let x = FloatBuffer(capacity: 0)        // [T, embeddingDim] residual stream
    let h = FloatBuffer(capacity: 0)        // [T, embeddingDim] normed
    let q = FloatBuffer(capacity: 0)        // [T, headCount * headDim]
    let k = FloatBuffer(capacity: 0)        // [T, kvHeadCount * headDim]
    let v = FloatBuffer(capacity: 0)        // [T, kvHeadCount * headDim]
    let attention = FloatBuffer(capacity: 0) // [T, headCount * headDim]
    let out = FloatBuffer(capacity: 0)      // [T, embeddingDim]
    let gate = FloatBuffer(capacity: 0)     // [T, ffnDim]
    let up = FloatBuffer(capacity: 0)       // [T, ffnDim]
    let scores = FloatBuffer(capacity: 0)   // [threads, 4, context] attention weights (four heads at a time)
    let partials = FloatBuffer(capacity: 0) // [2 · threads, pieces, partialStride] split attention's partial results
    let ropeTables = RopeTables()
    /// Each token's position and sequence in a single-sequence pass (`KVView`), kept from pass to pass
    /// so that a decoded token allocates nothing.
    var tokenPositions: [Int] = []
    var tokenSequences: [Int] = []

    public init() {}

    /// The most pieces (`Kernels.attentionSplit`) one query's positions can be cut into.
    static func attentionPieces(context: Int) -> Int { context / Kernels.attentionSplit + 2 }

    func reserve(tokens: Int, _ shape: DecoderShape, context: Int, threads: Int) {
        x.reserve(tokens * shape.embeddingDim)
        h.reserve(tokens * shape.embeddingDim)
        out.reserve(tokens * shape.embeddingDim)
        q.reserve(tokens * shape.headCount * shape.headDim)
        attention.reserve(tokens * shape.headCount * shape.headDim)
        k.reserve(tokens * shape.kvHeadCount * shape.headDim)
        v.reserve(tokens * shape.kvHeadCount * shape.headDim)
        gate.reserve(tokens * shape.ffnDim)
        up.reserve(tokens * shape.ffnDim)
        scores.reserve(threads * 4 * context)
        partials.reserve(2 * threads * Self.attentionPieces(context: context) * Kernels.partialStride(headDim: shape.headDim))
    }
}

/// RoPE tables of one forward pass, one per set of frequencies the layers use (Gemma 3 has two: local
/// and global layers): [tokens, ropeDim] cosines and sines, computed by the first layer that needs them
/// and reused by the others, instead of once per layer, for queries and keys alike.
final class RopeTables: @unchecked Sendable {
    private var entries: [(frequencies: RopeFrequencies, table: FloatBuffer)] = []
    private var valid = 0  // entries filled in this forward pass

    /// Forgets the tables of the previous pass (their positions no longer hold); keeps the memory.
    func reset() { valid = 0 }

    /// The table for `frequencies` at `positions`, computed on first use in this pass.
    func table(_ frequencies: RopeFrequencies, positions: [Int], tokens: Int, pool: ThreadPool) -> UnsafePointer<Float> {
        for i in 0..<valid where entries[i].frequencies == frequencies { return UnsafePointer(entries[i].table.pointer) }
        if valid == entries.count { entries.append((frequencies, FloatBuffer(capacity: 0))) }
        entries[valid].frequencies = frequencies
        let buffer = entries[valid].table, width = frequencies.ropeDim
        valid += 1
        buffer.reserve(tokens * width)
        pool.parallelFor(tokens, grain: 8) { range in
            for t in range { Kernels.ropeTable(position: positions[t], frequencies, into: buffer.pointer + t * width) }
        }
        return UnsafePointer(buffer.pointer)
    }
}

/// The sizes every decoder-only transformer shares, as the forward pass needs them.
public struct DecoderShape: Sendable, Equatable {
    public var vocabularySize: Int
    public var embeddingDim: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var ffnDim: Int
    /// The context the model was trained for (`<arch>.context_length`).
    public var contextLength: Int
}
