import Foundation
import PhoenixQuant

/// One format's goldens, Tests/Fixtures/quant/<FORMAT>.json, written by Scripts/goldens/quant_goldens.py
/// (source, versions and tolerance in Tests/Fixtures/README.md). Byte fields are base64, little-endian.
struct QuantFixture: Decodable {
    struct Quantize: Decodable {
        var input: String    // float32 weights, whole blocks
        var ggufPy: String?  // gguf-py's quantized bytes, where gguf-py quantizes this format
        var ggml: String?    // ggml's quantize_row_*_ref bytes
    }

    struct Dequantize: Decodable {
        var source: String   // who produced `output`
        var blocks: String   // random valid blocks
        var output: String   // their float32 values
    }

    var format: String
    var typeId: UInt32
    var weightsPerBlock: Int
    var bytesPerBlock: Int
    var quantize: Quantize
    var dequantize: Dequantize

    /// Tests/Fixtures/quant, found from this file's path so no bundle resources are needed.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("quant")

    static func load(_ type: QuantType) throws -> QuantFixture {
        let url = directory.appendingPathComponent("\(type.traits.name).json")
        return try JSONDecoder().decode(QuantFixture.self, from: Data(contentsOf: url))
    }

    static func bytes(_ base64: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: base64) else { throw FixtureError.badBase64 }
        return [UInt8](data)
    }

    /// Float32 bit patterns: compared as integers so NaN payloads and signed zeros count.
    static func floatBits(_ base64: String) throws -> [UInt32] {
        let raw = try bytes(base64)
        guard raw.count % 4 == 0 else { throw FixtureError.badLength }
        return raw.withUnsafeBytes { buffer in
            (0..<raw.count / 4).map { buffer.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) }
        }
    }

    static func floats(_ base64: String) throws -> [Float] {
        try floatBits(base64).map(Float.init(bitPattern:))
    }

    enum FixtureError: Error { case badBase64, badLength }
}
