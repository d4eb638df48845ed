import PhoenixQuant
import PhoenixTestSupport
import Testing

/// The buffer API: whole blocks at any byte offset, array conveniences equal to the pointer forms.
@Suite struct QuantizationTests {
    @Test(arguments: QuantType.allCases)
    func unalignedBuffersGiveSameResults(type: QuantType) {
        let (weights, bytes) = (type.traits.weightsPerBlock, type.traits.bytesPerBlock)
        var rng = SplitMix64(seed: 7 + UInt64(type.rawValue))
        let x = rng.floats(3 * weights)
        let expected = Quantization.quantize(type, x)

        // Quantize into, and dequantize from, a buffer one byte past an aligned start.
        var storage = [UInt8](repeating: 0, count: 3 * bytes + 1)
        storage.withUnsafeMutableBytes { raw in
            x.withUnsafeBufferPointer { Quantization.quantize(type, from: $0, into: UnsafeMutableRawBufferPointer(rebasing: raw[1...])) }
        }
        #expect(Array(storage[1...]) == expected)

        var y = [Float](repeating: .nan, count: 3 * weights)
        storage.withUnsafeBytes { raw in
            y.withUnsafeMutableBufferPointer { Quantization.dequantize(type, from: UnsafeRawBufferPointer(rebasing: raw[1...]), into: $0) }
        }
        #expect(y.map(\.bitPattern) == Quantization.dequantize(type, expected).map(\.bitPattern))
    }

    @Test(arguments: QuantType.allCases)
    func emptyInputGivesEmptyOutput(type: QuantType) {
        #expect(Quantization.quantize(type, []).isEmpty)
        #expect(Quantization.dequantize(type, []).isEmpty)
    }
}
