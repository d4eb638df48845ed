// Gemma 3 (text): embedding scaled by √embeddingDim, RMSNorm before and after attention and FFN, Q/K
// norms, GELU-tanh gated FFN, grouped-query attention, sliding-window (local) layers interleaved with
// global layers, each with its own RoPE base, output tied to the embedding.
// Ported from llama.cpp src/models/gemma3.cpp (llama-cpp-python 0.3.36 sdist) and checked against
// Hugging Face transformers' Gemma3ForCausalLM.
import PhoenixGGUF
import PhoenixKernels

// MARK: - Config

public struct Gemma3Config: Sendable {
    public var shape: DecoderShape
    public var normEps: Float = 1e-6
    public var slidingWindow: Int?
    /// Which layers attend within the sliding window.
    public var isSlidingLayer: [Bool]
    public var globalRope: RopeFrequencies
    public var localRope: RopeFrequencies
    public var attentionScale: Float

    init(_ meta: GGUFMetadata, vocabularySize: Int) throws {
        let arch = "gemma3"
        let embeddingDim = try meta.int("\(arch).embedding_length")
        let headCount = try meta.int("\(arch).attention.head_count")
        let headDim = try meta.int("\(arch).attention.key_length", default: embeddingDim / max(headCount, 1))
        shape = DecoderShape(
            vocabularySize: vocabularySize, embeddingDim: embeddingDim,
            layerCount: try meta.int("\(arch).block_count"), headCount: headCount,
            kvHeadCount: try meta.int("\(arch).attention.head_count_kv", default: headCount), headDim: headDim,
            ffnDim: try meta.int("\(arch).feed_forward_length"),
            contextLength: try meta.int("\(arch).context_length", default: 131_072))
        try shape.validate(arch)
        normEps = try meta.float("\(arch).attention.layer_norm_rms_epsilon", default: normEps)

        let window = try meta.int("\(arch).attention.sliding_window", default: 0)
        slidingWindow = window > 0 ? window : nil
        // Every sixth layer is global unless the file says otherwise (Gemma 3's published pattern).
        let patternKey = "\(arch).attention.sliding_window_pattern"
        if slidingWindow == nil {
            isSlidingLayer = Array(repeating: false, count: shape.layerCount)
        } else if case .array(.bool(let flags))? = meta[patternKey], flags.count >= shape.layerCount {
            isSlidingLayer = Array(flags.prefix(shape.layerCount))
        } else {
            let pattern = try meta.int(patternKey, default: 6)
            isSlidingLayer = (0..<shape.layerCount).map { pattern == 0 || $0 % pattern < pattern - 1 }
        }

        let ropeDim = try meta.int("\(arch).rope.dimension_count", default: headDim)
        let scaling = try meta.string("\(arch).rope.scaling.type", default: "none")
        guard scaling == "none" || scaling == "linear" else {
            throw ModelError.unsupported("RoPE scaling '\(scaling)' for gemma3")
        }
        let factor = scaling == "linear" ? Double(try meta.float("\(arch).rope.scaling.factor", default: 1)) : 1
        globalRope = RopeFrequencies(style: .halves, ropeDim: ropeDim,
                                     base: Double(try meta.float("\(arch).rope.freq_base", default: 1_000_000)),
                                     linearScale: factor)
        // Local layers use base 10,000 and no scaling when the file has no key for it.
        localRope = RopeFrequencies(style: .halves, ropeDim: ropeDim,
                                    base: Double(try meta.float("\(arch).rope.freq_base_swa", default: 10_000)))
        // Gemma 3 scales queries by query_pre_attn_scalar^-½, which is headDim for every size but 27B;
        // GGUF files do not store it, so the published rule is used (as llama.cpp does).
        attentionScale = shape.layerCount == 62
            ? 1 / Float(embeddingDim / headCount).squareRoot()
            : 1 / Float(headDim).squareRoot()
    }
}

// MARK: - Weights (GGUF names: blk.N.attn_q → attnQ)

struct Gemma3Layer: Sendable {
    var attnNorm, attnQNorm, attnKNorm, postAttentionNorm, ffnNorm, postFfwNorm: [Float]
    var attnQ, attnK, attnV, attnOutput, ffnGate, ffnUp, ffnDown: WeightMatrix

    init(_ w: TensorLoader, _ i: Int, _ s: DecoderShape) throws {
        let (d, qDim, kvDim) = (s.embeddingDim, s.headCount * s.headDim, s.kvHeadCount * s.headDim)
        attnNorm = try w.vector("blk.\(i).attn_norm.weight", count: d)
        attnQ = try w.matrix("blk.\(i).attn_q.weight", rows: qDim, columns: d)
        attnK = try w.matrix("blk.\(i).attn_k.weight", rows: kvDim, columns: d)
        attnV = try w.matrix("blk.\(i).attn_v.weight", rows: kvDim, columns: d)
        attnQNorm = try w.vector("blk.\(i).attn_q_norm.weight", count: s.headDim)
        attnKNorm = try w.vector("blk.\(i).attn_k_norm.weight", count: s.headDim)
        attnOutput = try w.matrix("blk.\(i).attn_output.weight", rows: d, columns: qDim)
        postAttentionNorm = try w.vector("blk.\(i).post_attention_norm.weight", count: d)
        ffnNorm = try w.vector("blk.\(i).ffn_norm.weight", count: d)
        ffnGate = try w.matrix("blk.\(i).ffn_gate.weight", rows: s.ffnDim, columns: d)
        ffnUp = try w.matrix("blk.\(i).ffn_up.weight", rows: s.ffnDim, columns: d)
        ffnDown = try w.matrix("blk.\(i).ffn_down.weight", rows: d, columns: s.ffnDim)
        postFfwNorm = try w.vector("blk.\(i).post_ffw_norm.weight", count: d)
    }
}

// MARK: - Layer

extension Gemma3 {
    func layer(_ index: Int, _ b: Blocks, _ s: Scratch) {
        let w = layers[index], c = config, shape = config.shape
        let local = c.isSlidingLayer[index]
        b.rmsNorm(s.x, w.attnNorm, eps: c.normEps, width: shape.embeddingDim, into: s.h)      // h: [T, embeddingDim]
        b.linear(s.h, (w.attnQ, s.q), (w.attnK, s.k), (w.attnV, s.v))    // q: [T, heads, headDim]; k, v: [T, kvHeads, headDim]
        b.headNorm(s.q, w.attnQNorm, eps: c.normEps, heads: shape.headCount, headDim: shape.headDim)
        b.headNorm(s.k, w.attnKNorm, eps: c.normEps, heads: shape.kvHeadCount, headDim: shape.headDim)
        let rope = local ? c.localRope : c.globalRope
        b.rope(s.q, heads: shape.headCount, headDim: shape.headDim, rope)
        b.rope(s.k, heads: shape.kvHeadCount, headDim: shape.headDim, rope)
        b.store(s.k, s.v, layer: index)
        b.attention(s.q, layer: index, shape: shape,
                    window: local ? c.slidingWindow : nil, scale: c.attentionScale, scratch: s, into: s.attention)
        b.linear(s.attention, w.attnOutput, into: s.out)                                     // out: [T, embeddingDim]
        b.rmsNorm(s.out, w.postAttentionNorm, eps: c.normEps, width: shape.embeddingDim, into: s.out)
        b.add(s.out, to: s.x, width: shape.embeddingDim)                                     // residual
        b.rmsNorm(s.x, w.ffnNorm, eps: c.normEps, width: shape.embeddingDim, into: s.h)
        b.gatedFFN(s.h, gate: w.ffnGate, up: w.ffnUp, down: w.ffnDown, .geluTanh, scratch: s, into: s.out)
        b.rmsNorm(s.out, w.postFfwNorm, eps: c.normEps, width: shape.embeddingDim, into: s.out)
        b.add(s.out, to: s.x, width: shape.embeddingDim)                                     // residual
    }
}

// MARK: - Model

public final class Gemma3: DecoderArchitecture {
    public let architecture = "gemma3"
    public let config: Gemma3Config
    let file: GGUFFile
    /// The layers' matrices, where the model holds them itself (`RepackedWeights`).
    let repackedWeights: RepackedWeights?
    let tokenEmbedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let layers: [Gemma3Layer]

    public var shape: DecoderShape { config.shape }
    var normEps: Float { config.normEps }
    var embeddingScale: Float { Float(config.shape.embeddingDim).squareRoot() }

    public init(_ file: GGUFFile) throws {
        self.file = file
        let loader = TensorLoader(file: file)
        repackedWeights = loader.repacked
        let vocabularySize = try loader.rowCount("token_embd.weight")
        config = try Gemma3Config(file.metadata, vocabularySize: vocabularySize)
        let s = config.shape
        tokenEmbedding = try loader.matrix("token_embd.weight", rows: s.vocabularySize, columns: s.embeddingDim)
        output = loader.contains("output.weight")
            ? try loader.matrix("output.weight", rows: s.vocabularySize, columns: s.embeddingDim)
            : tokenEmbedding
        outputNorm = try loader.vector("output_norm.weight", count: s.embeddingDim)
        layers = try (0..<s.layerCount).map { try Gemma3Layer(loader, $0, s) }
        repackedWeights?.releaseFilePages(of: file)
    }
}

// MARK: - Registration

extension ModelRegistry {
    static let gemma3 = Entry(architectures: ["gemma3"]) { file, _ in try Gemma3(file) }
}
