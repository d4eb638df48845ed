import PhoenixGGUF
import PhoenixKernels
import PhoenixModels
import PhoenixQuant
import PhoenixTestSupport

/// Tiny random models built in code (dim 32, 2 layers, vocab 100), written as GGUF with Phoenix's writer.
enum TinyModel {
    static let (embeddingDim, headCount, kvHeadCount, headDim, ffnDim, layerCount, vocabularySize) = (32, 4, 2, 8, 64, 2, 100)

    /// A GGUF file for `architecture` with seeded random weights. `weightType` is the format of the
    /// matrices (norms stay F32); `edit` may change metadata or drop tensors to build broken files.
    static func file(_ architecture: String, weightType: QuantType = .f32, slidingWindow: Int? = nil, seed: UInt64 = 1,
                     edit: (inout GGUFMetadata, inout [String: (dims: [Int], values: [Float])]) -> Void = { _, _ in })
        throws -> GGUFFile {
        var rng = SplitMix64(seed: seed)
        var meta = GGUFMetadata()
        let a = architecture
        meta.set("general.architecture", .string(a))
        meta.set("\(a).embedding_length", .uint32(UInt32(embeddingDim)))
        meta.set("\(a).block_count", .uint32(UInt32(layerCount)))
        meta.set("\(a).feed_forward_length", .uint32(UInt32(ffnDim)))
        meta.set("\(a).attention.head_count", .uint32(UInt32(headCount)))
        meta.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeadCount)))
        meta.set("\(a).attention.key_length", .uint32(UInt32(headDim)))
        meta.set("\(a).context_length", .uint32(64))
        meta.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        meta.set("\(a).rope.freq_base", .float32(10_000))
        if let slidingWindow { meta.set("\(a).attention.sliding_window", .uint32(UInt32(slidingWindow))) }

        var tensors: [String: (dims: [Int], values: [Float])] = [:]
        func matrix(_ name: String, _ columns: Int, _ rows: Int) {
            tensors[name] = ([columns, rows], rng.floats(columns * rows, in: -0.4...0.4))
        }
        func vector(_ name: String, _ count: Int, around center: Float = 1) {
            tensors[name] = ([count], rng.floats(count, in: center - 0.2...center + 0.2))
        }
        let (d, q, kv) = (embeddingDim, headCount * headDim, kvHeadCount * headDim)
        matrix("token_embd.weight", d, vocabularySize)
        vector("output_norm.weight", d)
        for i in 0..<layerCount {
            vector("blk.\(i).attn_norm.weight", d)
            matrix("blk.\(i).attn_q.weight", d, q)
            matrix("blk.\(i).attn_k.weight", d, kv)
            matrix("blk.\(i).attn_v.weight", d, kv)
            matrix("blk.\(i).attn_output.weight", q, d)
            vector("blk.\(i).ffn_norm.weight", d)
            matrix("blk.\(i).ffn_gate.weight", d, ffnDim)
            matrix("blk.\(i).ffn_up.weight", d, ffnDim)
            matrix("blk.\(i).ffn_down.weight", ffnDim, d)
            if a == "qwen2" {
                vector("blk.\(i).attn_q.bias", q, around: 0)
                vector("blk.\(i).attn_k.bias", kv, around: 0)
                vector("blk.\(i).attn_v.bias", kv, around: 0)
            }
            if a == "qwen3" || a == "gemma3" {
                vector("blk.\(i).attn_q_norm.weight", headDim)
                vector("blk.\(i).attn_k_norm.weight", headDim)
            }
            if a == "gemma3" {
                vector("blk.\(i).post_attention_norm.weight", d)
                vector("blk.\(i).post_ffw_norm.weight", d)
            }
        }
        edit(&meta, &tensors)

        var writer = GGUFWriter()
        writer.metadata = meta
        for name in tensors.keys.sorted() {
            let (dims, values) = tensors[name]!
            if dims.count == 2, weightType != .f32 {
                try writer.addTensor(name, dimensions: dims, type: weightType, bytes: Quantization.quantize(weightType, values))
            } else {
                try writer.addTensor(name, dimensions: dims, values: values)
            }
        }
        return try GGUFFile(bytes: writer.serialized())
    }

    /// Logits of every position for `tokens`, run as one batch or one token at a time.
    static func logits(_ model: any LanguageModel, _ tokens: [Int], batched: Bool, threads: Int = 2,
                       precision: KVPrecision = .f16) throws -> [[Float]] {
        let pool = ThreadPool(threadCount: threads)
        let cache = KVCache(shape: model.shape, capacity: tokens.count, precision: precision)
        let scratch = Scratch(), hidden = FloatBuffer(capacity: 0)
        let vocabulary = model.shape.vocabularySize
        var rows: [[Float]] = []
        func collect(_ count: Int) {
            var out = [Float](repeating: 0, count: count * vocabulary)
            model.logits(hidden.pointer, rows: count, pool: pool, into: &out)
            for r in 0..<count { rows.append(Array(out[r * vocabulary..<(r + 1) * vocabulary])) }
        }
        if batched {
            try model.forward(tokens[...], cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: tokens.count)
            collect(tokens.count)
        } else {
            for t in tokens.indices {
                try model.forward(tokens[t...t], cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: 1)
                collect(1)
            }
        }
        return rows
    }
}
