import PhoenixGGUF
import PhoenixKernels

/// A decoder-only language model whose weights live in a GGUF file.
///
/// Thread-safety: the model is immutable and may be shared; a forward pass needs its own `KVCache`,
/// `Scratch` and `ThreadPool`, which belong to one generation at a time.
public protocol LanguageModel: AnyObject, Sendable {
    var architecture: String { get }
    var shape: DecoderShape { get }

    /// Runs `tokens` at positions `cache.count...`, appends their keys and values to `cache`, and leaves
    /// the final-normed hidden states of the last `outputRows` tokens in `hidden`: [outputRows, embeddingDim].
    func forward(_ tokens: ArraySlice<Int>, cache: KVCache, scratch: Scratch, pool: ThreadPool,
                 hidden: FloatBuffer, outputRows: Int) throws

    /// logits[r] = hidden[r] · outputᵀ for `rows` rows.  hidden: [rows, embeddingDim] → logits: [rows, vocabularySize]
    func logits(_ hidden: UnsafePointer<Float>, rows: Int, pool: ThreadPool, into logits: UnsafeMutablePointer<Float>)
}

/// What an architecture file provides; the shared driver below runs the embedding, the layers and the
/// final norm in the same order for every architecture.
protocol DecoderArchitecture: LanguageModel {
    var file: GGUFFile { get }  // keeps the mapped weights alive
    var tokenEmbedding: WeightMatrix { get }
    var output: WeightMatrix { get }
    var outputNorm: [Float] { get }
    var normEps: Float { get }
    /// Gemma scales embeddings by √embeddingDim; others by 1.
    var embeddingScale: Float { get }
    /// One transformer block over `blocks.tokens` tokens at positions `start...`, updating `scratch.x`.
    func layer(_ index: Int, _ blocks: Blocks, _ s: Scratch, cache: KVCache, start: Int)
}

extension DecoderArchitecture {
    public func forward(_ tokens: ArraySlice<Int>, cache: KVCache, scratch: Scratch, pool: ThreadPool,
                        hidden: FloatBuffer, outputRows: Int) throws {
        let start = cache.count, count = tokens.count
        guard count > 0 else { return }
        guard start + count <= cache.capacity else {
            throw ModelError.contextOverflow(needed: start + count, capacity: cache.capacity)
        }
        for id in tokens where id < 0 || id >= shape.vocabularySize {
            throw ModelError.tokenOutOfRange(id, vocabularySize: shape.vocabularySize)
        }
        precondition(outputRows <= count, "forward: more output rows than tokens")
        scratch.reserve(tokens: count, shape, context: cache.capacity, threads: pool.threadCount)
        let blocks = Blocks(pool: pool, tokens: count)
        blocks.embed(tokens, tokenEmbedding, scale: embeddingScale, into: scratch.x)  // x: [T, embeddingDim]
        for index in 0..<shape.layerCount {
            layer(index, blocks, scratch, cache: cache, start: start)
        }
        cache.count = start + count
        let width = shape.embeddingDim
        hidden.reserve(outputRows * width)
        outputNorm.withUnsafeBufferPointer { w in
            for r in 0..<outputRows {
                Kernels.rmsNorm(scratch.x.pointer + (count - outputRows + r) * width, weight: w.baseAddress!,
                                eps: normEps, count: width, into: hidden.pointer + r * width)
            }
        }
    }

    public func logits(_ hidden: UnsafePointer<Float>, rows: Int, pool: ThreadPool, into logits: UnsafeMutablePointer<Float>) {
        Kernels.matmul(output, hidden, tokens: rows, into: logits, pool: pool)
    }
}
