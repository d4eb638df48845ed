import PhoenixGGUF
import PhoenixKernels
import PhoenixModels
import Testing

@Suite struct ModelBadInputTests {
    @Test func unknownArchitectureIsNamed() throws {
        let file = try TinyModel.file("llama") { meta, _ in meta.set("general.architecture", .string("mamba9")) }
        #expect(throws: ModelError.unknownArchitecture("mamba9", supported: ModelRegistry.supportedArchitectures)) {
            try ModelRegistry.load(file)
        }
    }

    @Test func missingTensorIsNamed() throws {
        let file = try TinyModel.file("qwen3") { _, tensors in tensors["blk.1.attn_k_norm.weight"] = nil }
        #expect(throws: ModelError.missingTensor("blk.1.attn_k_norm.weight")) { try ModelRegistry.load(file) }
    }

    @Test func wrongShapeIsNamed() throws {
        let file = try TinyModel.file("llama") { _, tensors in
            tensors["blk.0.ffn_up.weight"] = ([32, 63], [Float](repeating: 0, count: 32 * 63))
        }
        #expect(throws: ModelError.wrongShape(tensor: "blk.0.ffn_up.weight", expected: [32, 64], found: [32, 63])) {
            try ModelRegistry.load(file)
        }
    }

    @Test func impossibleHyperparametersAreNamed() throws {
        let file = try TinyModel.file("llama") { meta, _ in meta.set("llama.attention.head_count_kv", .uint32(3)) }
        #expect(throws: ModelError.badHyperparameter(key: "llama.attention.head_count_kv",
                                                     reason: "3 must divide the head count 4")) {
            try ModelRegistry.load(file)
        }
        let longrope = try TinyModel.file("qwen2") { meta, _ in meta.set("qwen2.rope.scaling.type", .string("longrope")) }
        #expect(throws: ModelError.unsupported("RoPE scaling 'longrope' (Phoenix supports none, linear and yarn)")) {
            try ModelRegistry.load(longrope)
        }
        let yarn = try TinyModel.file("qwen2") { meta, _ in meta.set("qwen2.rope.scaling.type", .string("yarn")) }
        #expect(throws: GGUFError.missingKey("qwen2.rope.scaling.original_context_length")) {
            try ModelRegistry.load(yarn)
        }
        let missing = try TinyModel.file("gemma3") { meta, _ in meta = meta.removing("gemma3.block_count") }
        #expect(throws: GGUFError.missingKey("gemma3.block_count")) { try ModelRegistry.load(missing) }
    }

    @Test func contextOverflowAndBadTokensThrow() throws {
        let model = try ModelRegistry.load(try TinyModel.file("llama"))
        let cache = KVCache(shape: model.shape, capacity: 4)
        let (pool, scratch, hidden) = (ThreadPool(threadCount: 1), Scratch(), FloatBuffer(capacity: 0))
        #expect(throws: ModelError.contextOverflow(needed: 5, capacity: 4)) {
            try model.forward([1, 2, 3, 4, 5], cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: 1)
        }
        #expect(throws: ModelError.tokenOutOfRange(100, vocabularySize: 100)) {
            try model.forward([1, 100], cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: 1)
        }
        #expect(cache.count == 0, "a rejected step leaves the cache as it was")
    }
}

extension GGUFMetadata {
    /// A copy without `key` (metadata has no removal: files are read, not edited).
    func removing(_ key: String) -> GGUFMetadata {
        var copy = GGUFMetadata()
        for k in keys where k != key { copy.set(k, self[k]!) }
        return copy
    }
}
