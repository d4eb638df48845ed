import Foundation
import PhoenixGGUF
import PhoenixKernels
import PhoenixModels
import PhoenixTestSupport
import Testing

/// Tiny random Llama, Qwen 2 (one with YaRN RoPE scaling) and Qwen 3 models built with Hugging Face transformers and converted by
/// llama.cpp's convert_hf_to_gguf.py (Tests/Fixtures/models/tiny-*.gguf, made by
/// Scripts/goldens/model_goldens.py): with a float32 KV cache, Phoenix's logits at every position equal
/// transformers' in float32; with the default half-precision cache they stay within the rounding of keys
/// and values to halves.
@Suite struct TransformersParityTests {
    struct Fixture: Decodable {
        var tokenIds: [Int]
        var logits: [[Float]]
    }

    @Test(arguments: ["tiny-llama", "tiny-llama-rope-scaled", "tiny-qwen2", "tiny-qwen2-yarn", "tiny-qwen3"])
    func logitsMatchTransformers(name: String) throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let fixture = try decoder.decode(Fixture.self, from: Data(contentsOf: TestEnvironment.fixture("models/\(name).json")))
        let file = try GGUFFile(path: TestEnvironment.fixture("models/\(name).gguf").path)
        let model = try ModelRegistry.load(file)
        // Halves keep 11 significant bits (a relative rounding of up to 2^-12 per key and value); the
        // worst difference they gave these models was 5.1e-4, against 1e-4 with floats.
        for (precision, tolerance) in [(KVPrecision.f32, Float(1e-4)), (.f16, 2e-3)] {
            for batched in [true, false] {
                let ours = try TinyModel.logits(model, fixture.tokenIds, batched: batched, precision: precision)
                #expect(ours.count == fixture.logits.count)
                var worst: Float = 0
                for (row, expected) in zip(ours, fixture.logits) {
                    let scale = max(1, expected.map(abs).max() ?? 1)
                    for (a, b) in zip(row, expected) { worst = max(worst, abs(a - b) / scale) }
                }
                #expect(worst <= tolerance,
                        "\(name) (\(precision), \(batched ? "prefill" : "decode")): worst relative difference \(worst)")
            }
        }
    }
}
