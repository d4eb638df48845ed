// The Llama family: Llama 2/3 and Mistral (`llama`), Qwen 2 / 2.5 (`qwen2`: Q/K/V biases) and Qwen 3
// (`qwen3`: Q/K norms). RMSNorm, SwiGLU, grouped-query attention, RoPE (with linear or YaRN scaling and
// Llama 3's per-frequency factors), output tied to the embedding when the file has no `output.weight`.
// Ported from llama.cpp src/models/{llama,qwen2,qwen3}.cpp (llama-cpp-python 0.3.36 sdist) and checked
// against Hugging Face transformers on tiny random models.
import PhoenixGGUF
import PhoenixKernels

// MARK: - Config

public struct LlamaConfig: Sendable {
    public enum Variant: String, Sendable { case llama, qwen2, qwen3 }

    public var variant: Variant
    public var shape: DecoderShape
    public var normEps: Float = 1e-5
    public var rope: RopeFrequencies
    public var attentionScale: Float

    init(_ meta: GGUFMetadata, variant: Variant, vocabularySize: Int, ropeFactors: [Float]?) throws {
        let arch = variant.rawValue
        self.variant = variant
        let embeddingDim = try meta.int("\(arch).embedding_length")
        let headCount = try meta.int("\(arch).attention.head_count")
        if case .array? = meta["\(arch).attention.head_count_kv"] {
            throw ModelError.unsupported("per-layer head counts (\(arch).attention.head_count_kv is an array)")
        }
        let headDim = try meta.int("\(arch).attention.key_length", default: embeddingDim / max(headCount, 1))
        shape = DecoderShape(
            vocabularySize: vocabularySize, embeddingDim: embeddingDim,
            layerCount: try meta.int("\(arch).block_count"), headCount: headCount,
            kvHeadCount: try meta.int("\(arch).attention.head_count_kv", default: headCount), headDim: headDim,
            ffnDim: try meta.int("\(arch).feed_forward_length"),
            contextLength: try meta.int("\(arch).context_length", default: 4096))
        try shape.validate(arch)
        normEps = try meta.float("\(arch).attention.layer_norm_rms_epsilon", default: normEps)

        let scaling = try meta.string("\(arch).rope.scaling.type", default: "none")
        guard scaling == "none" || scaling == "linear" || scaling == "yarn" else {
            throw ModelError.unsupported("RoPE scaling '\(scaling)' (Phoenix supports none, linear and yarn)")
        }
        let ropeDim = try meta.int("\(arch).rope.dimension_count", default: headDim)
        if let ropeFactors, ropeFactors.count != ropeDim / 2 {
            throw ModelError.wrongShape(tensor: "rope_freqs.weight", expected: [ropeDim / 2], found: [ropeFactors.count])
        }
        // Llama files hold Q/K permuted for adjacent-pair rotation; Qwen files keep the NeoX layout.
        let style: RopeStyle = variant == .llama ? .interleaved : .halves
        let base = Double(try meta.float("\(arch).rope.freq_base", default: 10_000))
        if scaling == "yarn" {
            rope = try Self.yarn(meta, arch: arch, style: style, ropeDim: ropeDim, base: base,
                                 contextLength: shape.contextLength, ropeFactors: ropeFactors)
        } else {
            let factor = scaling == "linear" ? Double(try meta.float("\(arch).rope.scaling.factor", default: 1)) : 1
            rope = RopeFrequencies(style: style, ropeDim: ropeDim, base: base, linearScale: factor, factors: ropeFactors)
        }
        attentionScale = 1 / Float(headDim).squareRoot()
    }

    /// YaRN from the keys convert_hf_to_gguf.py writes for `rope_scaling.rope_type = "yarn"`: `factor`,
    /// `original_context_length` (transformers' original_max_position_embeddings, required there and here) and,
    /// only when the checkpoint sets them, `yarn_beta_fast`, `yarn_beta_slow` and `yarn_attn_factor`
    /// (transformers' attention_factor). Missing ones take transformers' defaults: factor =
    /// context_length / original_context_length, betas 32 and 1, attention factor 0.1 ln(factor) + 1.
    private static func yarn(_ meta: GGUFMetadata, arch: String, style: RopeStyle, ropeDim: Int, base: Double,
                             contextLength: Int, ropeFactors: [Float]?) throws -> RopeFrequencies {
        let key = "\(arch).rope.scaling"
        if ropeFactors != nil {
            throw ModelError.unsupported("YaRN RoPE scaling together with rope_freqs.weight")
        }
        // llama.cpp's extrapolation mix and DeepSeek's mscale_all_dim have no counterpart in transformers'
        // YaRN for these models; 1 and 0 are the values that leave its formula unchanged.
        if try meta.float("\(key).yarn_ext_factor", default: 1) != 1 {
            throw ModelError.unsupported("YaRN with \(key).yarn_ext_factor other than 1")
        }
        if try meta.float("\(key).yarn_log_multiplier", default: 0) != 0 {
            throw ModelError.unsupported("YaRN with \(key).yarn_log_multiplier")
        }
        let originalContextLength = try meta.int("\(key).original_context_length")
        guard originalContextLength > 0 else {
            throw ModelError.badHyperparameter(key: "\(key).original_context_length", reason: "must be positive")
        }
        let factor = Double(try meta.float("\(key).factor",
                                           default: Float(contextLength) / Float(originalContextLength)))
        guard factor > 0 else {
            throw ModelError.badHyperparameter(key: "\(key).factor", reason: "\(factor) must be positive")
        }
        let attentionFactor = try meta["\(key).yarn_attn_factor"].map { _ in
            Double(try meta.float("\(key).yarn_attn_factor"))
        }
        return RopeFrequencies(style: style, ropeDim: ropeDim, base: base, yarnFactor: factor,
                               originalContextLength: originalContextLength,
                               betaFast: Double(try meta.float("\(key).yarn_beta_fast", default: 32)),
                               betaSlow: Double(try meta.float("\(key).yarn_beta_slow", default: 1)),
                               attentionFactor: attentionFactor)
    }
}

// MARK: - Weights (GGUF names: blk.N.attn_q → attnQ)

struct LlamaLayer: Sendable {
    var attnNorm, ffnNorm: [Float]
    var attnQNorm, attnKNorm: [Float]?                 // qwen3
    var attnQBias, attnKBias, attnVBias: [Float]?      // qwen2
    var attnQ, attnK, attnV, attnOutput, ffnGate, ffnUp, ffnDown: WeightMatrix

    init(_ w: TensorLoader, _ i: Int, _ s: DecoderShape, _ variant: LlamaConfig.Variant) throws {
        let (d, qDim, kvDim) = (s.embeddingDim, s.headCount * s.headDim, s.kvHeadCount * s.headDim)
        attnNorm = try w.vector("blk.\(i).attn_norm.weight", count: d)
        attnQ = try w.matrix("blk.\(i).attn_q.weight", rows: qDim, columns: d)
        attnK = try w.matrix("blk.\(i).attn_k.weight", rows: kvDim, columns: d)
        attnV = try w.matrix("blk.\(i).attn_v.weight", rows: kvDim, columns: d)
        if variant == .qwen3 {
            attnQNorm = try w.vector("blk.\(i).attn_q_norm.weight", count: s.headDim)
            attnKNorm = try w.vector("blk.\(i).attn_k_norm.weight", count: s.headDim)
        }
        attnQBias = try w.optionalVector("blk.\(i).attn_q.bias", count: qDim)
        attnKBias = try w.optionalVector("blk.\(i).attn_k.bias", count: kvDim)
        attnVBias = try w.optionalVector("blk.\(i).attn_v.bias", count: kvDim)
        attnOutput = try w.matrix("blk.\(i).attn_output.weight", rows: d, columns: qDim)
        ffnNorm = try w.vector("blk.\(i).ffn_norm.weight", count: d)
        ffnGate = try w.matrix("blk.\(i).ffn_gate.weight", rows: s.ffnDim, columns: d)
        ffnUp = try w.matrix("blk.\(i).ffn_up.weight", rows: s.ffnDim, columns: d)
        ffnDown = try w.matrix("blk.\(i).ffn_down.weight", rows: d, columns: s.ffnDim)
    }
}

// MARK: - Layer

extension Llama {
    func layer(_ index: Int, _ b: Blocks, _ s: Scratch) {
        let w = layers[index], c = config, shape = config.shape
        b.rmsNorm(s.x, w.attnNorm, eps: c.normEps, width: shape.embeddingDim, into: s.h)      // h: [T, embeddingDim]
        b.linear(s.h, w.attnQ, bias: w.attnQBias, into: s.q)                                 // q: [T, headCount, headDim]
        b.linear(s.h, w.attnK, bias: w.attnKBias, into: s.k)                                 // k: [T, kvHeadCount, headDim]
        b.linear(s.h, w.attnV, bias: w.attnVBias, into: s.v)                                 // v: [T, kvHeadCount, headDim]
        if let qNorm = w.attnQNorm, let kNorm = w.attnKNorm {
            b.headNorm(s.q, qNorm, eps: c.normEps, heads: shape.headCount, headDim: shape.headDim)
            b.headNorm(s.k, kNorm, eps: c.normEps, heads: shape.kvHeadCount, headDim: shape.headDim)
        }
        b.rope(s.q, heads: shape.headCount, headDim: shape.headDim, c.rope)
        b.rope(s.k, heads: shape.kvHeadCount, headDim: shape.headDim, c.rope)
        b.store(s.k, s.v, layer: index)
        b.attention(s.q, layer: index, shape: shape,
                    window: nil, scale: c.attentionScale, scratch: s, into: s.attention)
        b.linear(s.attention, w.attnOutput, into: s.out)                                     // out: [T, embeddingDim]
        b.add(s.out, to: s.x, width: shape.embeddingDim)                                     // residual
        b.rmsNorm(s.x, w.ffnNorm, eps: c.normEps, width: shape.embeddingDim, into: s.h)
        b.gatedFFN(s.h, gate: w.ffnGate, up: w.ffnUp, down: w.ffnDown, .silu, scratch: s, into: s.out)
        b.add(s.out, to: s.x, width: shape.embeddingDim)                                     // residual
    }
}

// MARK: - Model

public final class Llama: DecoderArchitecture {
    public let architecture: String
    public let config: LlamaConfig
    let file: GGUFFile
    /// The layers' matrices, where the model holds them itself (`RepackedWeights`).
    let repackedWeights: RepackedWeights?
    let tokenEmbedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let layers: [LlamaLayer]

    public var shape: DecoderShape { config.shape }
    var normEps: Float { config.normEps }
    var embeddingScale: Float { 1 }

    public init(_ file: GGUFFile, variant: LlamaConfig.Variant) throws {
        self.file = file
        architecture = variant.rawValue
        let loader = TensorLoader(file: file)
        repackedWeights = loader.repacked
        let vocabularySize = try loader.rowCount("token_embd.weight")
        let ropeFactors = try loader.contains("rope_freqs.weight")
            ? loader.vector("rope_freqs.weight", count: file.tensor(named: "rope_freqs.weight")!.elementCount)
            : nil
        config = try LlamaConfig(file.metadata, variant: variant, vocabularySize: vocabularySize, ropeFactors: ropeFactors)
        let s = config.shape
        tokenEmbedding = try loader.matrix("token_embd.weight", rows: s.vocabularySize, columns: s.embeddingDim)
        output = loader.contains("output.weight")
            ? try loader.matrix("output.weight", rows: s.vocabularySize, columns: s.embeddingDim)
            : tokenEmbedding
        outputNorm = try loader.vector("output_norm.weight", count: s.embeddingDim)
        layers = try (0..<s.layerCount).map { try LlamaLayer(loader, $0, s, variant) }
        repackedWeights?.releaseFilePages(of: file)
    }
}

// MARK: - Registration

extension ModelRegistry {
    static let llamaFamily = Entry(architectures: ["llama", "qwen2", "qwen3"]) { file, architecture in
        try Llama(file, variant: LlamaConfig.Variant(rawValue: architecture)!)
    }
}
