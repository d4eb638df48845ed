import PhoenixGGUF
import PhoenixKernels
import PhoenixModels
import PhoenixQuant
import Testing

@Suite struct ForwardPassTests {
    static let architectures = ["gemma3", "llama", "qwen2", "qwen3"]
    static let tokens = [3, 97, 14, 15, 92, 65, 35, 89, 79, 32, 38]

    /// Prefill of the whole prompt (matrix-matrix work) gives the same logits as decoding one token at a
    /// time, for every architecture and for quantized weights. Decoding quantized weights rounds the
    /// activations to 16 bits (at most 2^-16 of a block's largest value per matrix product), so the two
    /// agree to 1e-3 rather than float32's 1e-4; a wrong kernel is off by far more.
    @Test(arguments: architectures, [QuantType.f32, .q8_0, .q4_K])
    func batchedPrefillEqualsTokenByToken(architecture: String, type: QuantType) throws {
        let columnsAreBlocks = type.traits.weightsPerBlock <= 32
        let file = try TinyModel.file(architecture, weightType: columnsAreBlocks ? type : .f32)
        let model = try ModelRegistry.load(file)
        let batched = try TinyModel.logits(model, Self.tokens, batched: true)
        let stepwise = try TinyModel.logits(model, Self.tokens, batched: false, threads: 1)
        let tolerance: Float = Kernels.hasInt16Dot(type) ? 1e-3 : 1e-4
        for (a, b) in zip(batched, stepwise) {
            for i in a.indices { #expect(abs(a[i] - b[i]) <= tolerance * max(1, abs(b[i]))) }
        }
        #expect(batched.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    /// Gemma 3's sliding window: with a window of 3 and two local layers, the last position sees at most
    /// 2 · (3 - 1) = 4 positions back, so changing the first token cannot change it; it does change an
    /// early position.
    @Test func slidingWindowLimitsWhatAPositionSees() throws {
        let model = try ModelRegistry.load(try TinyModel.file("gemma3", slidingWindow: 3))
        var changed = Self.tokens
        changed[0] = 50
        let a = try TinyModel.logits(model, Self.tokens, batched: true)
        let b = try TinyModel.logits(model, changed, batched: true)
        #expect(a[10] == b[10])
        #expect(a[2] != b[2])
        // Without the window, the last position depends on the first token.
        let global = try ModelRegistry.load(try TinyModel.file("gemma3"))
        #expect(try TinyModel.logits(global, Self.tokens, batched: true)[10] != TinyModel.logits(global, changed, batched: true)[10])
    }

    /// The sizes come from the file: head dimension and KV heads from their keys, the vocabulary from the
    /// embedding's rows.
    @Test func shapeIsReadFromTheFile() throws {
        let gemma = try ModelRegistry.load(try TinyModel.file("gemma3"))
        #expect(gemma.architecture == "gemma3")
        #expect(gemma.shape.vocabularySize == 100 && gemma.shape.headDim == 8 && gemma.shape.kvHeadCount == 2)
    }
}
