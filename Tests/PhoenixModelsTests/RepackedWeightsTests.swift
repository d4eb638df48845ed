import PhoenixGGUF
import PhoenixKernels
@testable import PhoenixModels
import PhoenixQuant
import Testing

/// Serialized: each case switches `RepackedWeights.isEnabled`, one global, off and on again, so cases
/// running side by side would see each other's setting. Other suites never switch it, and a model they
/// load while it is off only reads its layers from the file, with the same bits.
@Suite(.serialized) struct RepackedWeightsTests {
    /// A model whose layers are Q5_0 holds them itself where the 512-bit kernels run, Q5_0 in the
    /// row-pair layout, and gives the logits of the same model reading them from the file, bit for bit,
    /// for prompts and for decoding.
    @Test(arguments: ForwardPassTests.architectures)
    func heldLayersGiveTheFileLayersLogits(architecture: String) throws {
        let file = try TinyModel.file(architecture, weightType: .q5_0)
        RepackedWeights.isEnabled = false
        let fromFile = try ModelRegistry.load(file)
        RepackedWeights.isEnabled = true
        let held = try ModelRegistry.load(file)
        let layout = RepackedWeights.layout(of: try #require(file.tensor(named: "blk.0.ffn_up.weight")), in: file)
        #expect(layout == (Kernels.wideKernelsAvailable ? .q5_0RowPairs : .gguf))
        #expect(RepackedWeights.layout(of: try #require(file.tensor(named: "token_embd.weight")), in: file) == .gguf)
        for batched in [true, false] {
            let expected = try TinyModel.logits(fromFile, ForwardPassTests.tokens, batched: batched)
            let logits = try TinyModel.logits(held, ForwardPassTests.tokens, batched: batched)
            #expect(logits.map { $0.map(\.bitPattern) } == expected.map { $0.map(\.bitPattern) }, "batched \(batched)")
        }
    }
}
