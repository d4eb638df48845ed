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
    /// `decoding`: the tokens were generated (the decode kernels take them), not read from a prompt (the
    /// GEMM does); the serving engine makes the same choice by position, so both compute a token alike.
    func forward(_ tokens: ArraySlice<Int>, cache: KVCache, scratch: Scratch, pool: ThreadPool,
                 hidden: FloatBuffer, outputRows: Int, decoding: Bool) throws

    /// Runs the tokens of several sequences at once, writing their keys and values into the blocks their
    /// tables name, and leaves the final-normed hidden state of the last token of every sequence that
    /// wants output in `hidden`: [step.outputCount, embeddingDim]. Each token is computed exactly as it
    /// is when its sequence runs alone (see `ForwardStep`), so results do not depend on the batch.
    func forward(_ step: ForwardStep, cache: PagedKVCache, scratch: Scratch, pool: ThreadPool, hidden: FloatBuffer) throws

    /// logits[r] = hidden[r] · outputᵀ for `rows` rows.  hidden: [rows, embeddingDim] → logits: [rows, vocabularySize]
    /// `decoding`: the rows are tokens being decoded, which the 16-bit decode kernels take (see
    /// `Kernels.matmul`); otherwise a GEMM does, except for a single row, which counts as decoding.
    func logits(_ hidden: UnsafePointer<Float>, rows: Int, decoding: Bool, pool: ThreadPool,
                into logits: UnsafeMutablePointer<Float>)
}

extension LanguageModel {
    /// `forward` with a lone token taken as decoded and several as a prompt.
    public func forward(_ tokens: ArraySlice<Int>, cache: KVCache, scratch: Scratch, pool: ThreadPool,
                        hidden: FloatBuffer, outputRows: Int) throws {
        try forward(tokens, cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: outputRows,
                    decoding: tokens.count == 1)
    }

    public func logits(_ hidden: UnsafePointer<Float>, rows: Int, pool: ThreadPool, into logits: UnsafeMutablePointer<Float>) {
        self.logits(hidden, rows: rows, decoding: false, pool: pool, into: logits)
    }
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
    /// One transformer block over `blocks.tokens` tokens at the positions `blocks.kv` gives, updating `scratch.x`.
    func layer(_ index: Int, _ blocks: Blocks, _ s: Scratch)
}

extension DecoderArchitecture {
    public func forward(_ tokens: ArraySlice<Int>, cache: KVCache, scratch: Scratch, pool: ThreadPool,
                        hidden: FloatBuffer, outputRows: Int, decoding: Bool) throws {
        let start = cache.count, count = tokens.count
        guard count > 0 else { return }
        guard start + count <= cache.capacity else {
            throw ModelError.contextOverflow(needed: start + count, capacity: cache.capacity)
        }
        precondition(outputRows <= count, "forward: more output rows than tokens")
        let view = KVView(cache, start: start, count: count, scratch: scratch)
        try run(tokens, view, decodeTokens: decoding ? count : 0, scratch: scratch, pool: pool)
        cache.count = start + count
        normOutputs(count - outputRows..<count, scratch: scratch, hidden: hidden)
    }

    public func forward(_ step: ForwardStep, cache: PagedKVCache, scratch: Scratch, pool: ThreadPool,
                        hidden: FloatBuffer) throws {
        guard !step.tokens.isEmpty else { return }
        var row = 0
        for sequence in step.sequences {
            let end = sequence.start + sequence.tokenCount
            guard sequence.start >= 0, sequence.tokenCount > 0,
                  end <= sequence.blockTable.count * cache.blockSize,
                  sequence.blockTable.allSatisfy({ $0 >= 0 && Int($0) < cache.blockCount }) else {
                throw ModelError.invalidBlockTable(positions: end, blocks: sequence.blockTable.count, blockSize: cache.blockSize)
            }
            row += sequence.tokenCount
        }
        precondition(row == step.tokens.count, "forward: the sequences do not cover the step's tokens")
        let view = KVView(cache, step: step)
        try run(view.tokens[...], view, decodeTokens: view.decodeCount, scratch: scratch, pool: pool)
        normOutputs(view.outputRows, scratch: scratch, hidden: hidden)
    }

    /// Embedding and every layer over the step's tokens, leaving the residual stream in `scratch.x`.
    private func run(_ tokens: ArraySlice<Int>, _ view: KVView, decodeTokens: Int?, scratch: Scratch, pool: ThreadPool) throws {
        for id in tokens where id < 0 || id >= shape.vocabularySize {
            throw ModelError.tokenOutOfRange(id, vocabularySize: shape.vocabularySize)
        }
        scratch.reserve(tokens: tokens.count, shape, context: view.scratchContext, threads: pool.threadCount)
        scratch.ropeTables.reset()
        let blocks = Blocks(pool: pool, tokens: tokens.count, kv: view, decodeTokens: decodeTokens,
                            ropeTables: scratch.ropeTables)
        blocks.embed(tokens, tokenEmbedding, scale: embeddingScale, into: scratch.x)  // x: [T, embeddingDim]
        for index in 0..<shape.layerCount {
            layer(index, blocks, scratch)
        }
    }

    /// hidden[r] = outputNorm(x[rows[r]]).
    private func normOutputs(_ rows: some Collection<Int>, scratch: Scratch, hidden: FloatBuffer) {
        let width = shape.embeddingDim
        hidden.reserve(rows.count * width)
        outputNorm.withUnsafeBufferPointer { w in
            for (r, row) in rows.enumerated() {
                Kernels.rmsNorm(scratch.x.pointer + row * width, weight: w.baseAddress!, eps: normEps, count: width,
                                into: hidden.pointer + r * width)
            }
        }
    }

    public func logits(_ hidden: UnsafePointer<Float>, rows: Int, decoding: Bool, pool: ThreadPool,
                       into logits: UnsafeMutablePointer<Float>) {
        Kernels.matmul(output, hidden, tokens: rows, into: logits, decodeTokens: decoding ? rows : nil, pool: pool)
    }
}
