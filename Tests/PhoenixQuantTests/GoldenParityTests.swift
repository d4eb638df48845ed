import PhoenixQuant
import Testing

/// Bit-exact parity with the goldens in Tests/Fixtures/quant: quantized bytes equal gguf-py's and ggml's
/// reference quantizers', dequantized float bit patterns equal gguf-py's (tolerance: none).
@Suite struct GoldenParityTests {
    /// Formats gguf-py 0.19.0 quantizes itself (gguf/quants.py); the rest have only ggml goldens.
    static let ggufPyQuantizes: [QuantType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .mxfp4]
    /// Formats with a ggml `quantize_row_*_ref`: every quantized format.
    static let ggmlQuantizes = QuantType.allCases.filter { ![.f32, .f16, .bf16].contains($0) }

    @Test(arguments: ggufPyQuantizes)
    func quantizeMatchesGGUFPy(type: QuantType) throws {
        let fixture = try QuantFixture.load(type)
        let expected = try QuantFixture.bytes(try #require(fixture.quantize.ggufPy))
        try checkQuantize(type, fixture, expected: expected)
    }

    @Test(arguments: ggmlQuantizes)
    func quantizeMatchesGGMLReference(type: QuantType) throws {
        let fixture = try QuantFixture.load(type)
        let expected = try QuantFixture.bytes(try #require(fixture.quantize.ggml))
        try checkQuantize(type, fixture, expected: expected)
    }

    @Test(arguments: QuantType.allCases)
    func dequantizeMatchesGGUFPyBits(type: QuantType) throws {
        let fixture = try QuantFixture.load(type)
        let blocks = try QuantFixture.bytes(fixture.dequantize.blocks)
        let expected = try QuantFixture.floatBits(fixture.dequantize.output)
        let actual = Quantization.dequantize(type, blocks).map(\.bitPattern)
        try #require(actual.count == expected.count)
        let mismatch = actual.indices.first { actual[$0] != expected[$0] }
        #expect(mismatch == nil, """
            \(type) weight \(mismatch ?? -1): got \(hex(mismatch.map { actual[$0] })), \
            \(fixture.dequantize.source) has \(hex(mismatch.map { expected[$0] }))
            """)
    }

    @Test(arguments: QuantType.allCases)
    func fixtureDescribesFormat(type: QuantType) throws {
        let fixture = try QuantFixture.load(type)
        #expect(fixture.format == type.traits.name)
        #expect(fixture.typeId == type.rawValue)
        #expect(fixture.weightsPerBlock == type.traits.weightsPerBlock)
        #expect(fixture.bytesPerBlock == type.traits.bytesPerBlock)
    }

    /// Whole input, and prefixes of 1, 2 and 7 blocks: blocks quantize independently, so each is a prefix.
    private func checkQuantize(_ type: QuantType, _ fixture: QuantFixture, expected: [UInt8]) throws {
        let input = try QuantFixture.floats(fixture.quantize.input)
        let (weights, bytes) = (type.traits.weightsPerBlock, type.traits.bytesPerBlock)
        let blockCount = input.count / weights
        try #require(expected.count == blockCount * bytes)
        for count in Set([1, 2, 7, blockCount]).sorted() where count <= blockCount {
            let actual = Quantization.quantize(type, Array(input[..<(count * weights)]))
            let mismatch = (0..<count).first { b in actual[b * bytes ..< (b + 1) * bytes] != expected[b * bytes ..< (b + 1) * bytes] }
            #expect(mismatch == nil, "\(type), \(count) blocks: block \(mismatch ?? -1) differs")
        }
    }

    private func hex(_ bits: UInt32?) -> String {
        bits.map { "0x" + String($0, radix: 16) } ?? "-"
    }
}
