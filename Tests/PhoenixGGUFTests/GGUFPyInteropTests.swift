import Foundation
import PhoenixGGUF
import PhoenixQuant
import PhoenixTestSupport
import Testing

/// Phoenix and gguf-py (PyPI `gguf`, the format's reference reader) must see the same files.
@Suite(.enabled(if: TestEnvironment.isCI || TestEnvironment.pythonHas("gguf", "numpy"), "needs python3 with gguf and numpy"))
struct GGUFPyInteropTests {
    /// gguf-py's view of `path`, from Scripts/goldens/gguf_reference.py.
    static func describe(_ path: String) throws -> [String: Any] {
        let data = try TestEnvironment.runPython(["Scripts/goldens/gguf_reference.py", "describe", path])
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Checks that gguf-py read the same metadata and tensor infos as Phoenix did.
    static func expectSameView(_ file: GGUFFile, _ reference: [String: Any]) throws {
        let metadata = try #require(reference["metadata"] as? [[String: Any]])
        let keys = metadata.compactMap { $0["key"] as? String }
        #expect(keys == file.metadata.keys, "gguf-py saw the keys \(keys)")
        for entry in metadata {
            let key = try #require(entry["key"] as? String)
            let value = try #require(file.metadata[key], "Phoenix lacks \(key)")
            #expect(entry["type"] as? String == value.type.description, "type of \(key)")
            #expect(Self.matches(value, entry["value"] as Any), "value of \(key): gguf-py says \(entry["value"] ?? "nil")")
        }
        let tensors = try #require(reference["tensors"] as? [[String: Any]])
        #expect(tensors.count == file.tensors.count)
        for (entry, ours) in zip(tensors, file.tensors) {
            #expect(entry["name"] as? String == ours.name)
            #expect(entry["type"] as? String == ours.type.traits.name)
            #expect(entry["shape"] as? [Int] == ours.dimensions)
            #expect(entry["offset"] as? Int == file.dataOffset + ours.offset, "offset of \(ours.name)")
            #expect(entry["bytes"] as? Int == ours.byteCount)
            if let hex = entry["hex"] as? String {
                #expect(hex == file.data(for: ours).map { String(format: "%02x", $0) }.joined(), "bytes of \(ours.name)")
            }
        }
    }

    static func matches(_ value: GGUFValue, _ json: Any) -> Bool {
        switch value {
        case .string(let s): return json as? String == s
        case .bool(let b): return json as? Bool == b
        case .float32(let f): return (json as? Double).map { $0 == Double(f) } ?? false
        case .float64(let d): return (json as? Double).map { $0 == d } ?? false
        case .uint64(let u): return (json as? NSNumber)?.uint64Value == u
        case .array(let array):
            guard let object = json as? [String: Any], object["count"] as? Int == array.count,
                  object["array_of"] as? String == array.elementType.description else { return false }
            let elements = Self.elements(array)
            if let values = object["values"] as? [Any] { return zip(elements, values).allSatisfy(matches) }
            guard let head = object["head"] as? [Any], let tail = object["tail"] as? [Any] else { return false }
            return zip(elements.prefix(3), head).allSatisfy(matches) && zip(elements.suffix(3), tail).allSatisfy(matches)
        default: return (json as? NSNumber)?.int64Value == value.intValue.map(Int64.init)
        }
    }

    static func elements(_ array: GGUFArray) -> [GGUFValue] {
        switch array {
        case .uint8(let a): a.map(GGUFValue.uint8)
        case .int8(let a): a.map(GGUFValue.int8)
        case .uint16(let a): a.map(GGUFValue.uint16)
        case .int16(let a): a.map(GGUFValue.int16)
        case .uint32(let a): a.map(GGUFValue.uint32)
        case .int32(let a): a.map(GGUFValue.int32)
        case .uint64(let a): a.map(GGUFValue.uint64)
        case .int64(let a): a.map(GGUFValue.int64)
        case .float32(let a): a.map(GGUFValue.float32)
        case .float64(let a): a.map(GGUFValue.float64)
        case .bool(let a): a.map(GGUFValue.bool)
        case .string(let a): a.map(GGUFValue.string)
        case .array(let a): a.map(GGUFValue.array)
        }
    }

    @Test func ggufPyReadsWhatPhoenixWrites() throws {
        var writer = GGUFWriter()
        writer.metadata = GGUFRoundTripTests.sampleMetadata()
        writer.metadata.set("nested", .array(.uint8([1, 2])))  // gguf-py flattens nested arrays: keep to one level
        var rng = SplitMix64(seed: 7)
        try writer.addTensor("f32", dimensions: [8, 3], values: rng.floats(24))
        try writer.addTensor("q4_k", dimensions: [256], type: .q4_K, bytes: rng.bytes(144))
        try writer.addTensor("q6_k", dimensions: [256, 2], type: .q6_K, bytes: rng.bytes(420))
        try writer.addTensor("q5_0", dimensions: [32], type: .q5_0, bytes: rng.bytes(22))
        writer.alignment = 64
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("phoenix-interop-\(UUID()).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.expectSameView(try GGUFFile(path: path), try Self.describe(path))
    }

    @Test(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"))
    func defaultModelMetadataAndTensorsMatch() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let file = try GGUFFile(path: path)
        #expect(file.tensors.count == 236)
        #expect(try file.metadata.stringArray("tokenizer.ggml.tokens").count == 262_144)
        try Self.expectSameView(file, try Self.describe(path))
    }

    /// Every tensor of the default model dequantizes to exactly gguf-py's float32 bits.
    @Test(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"))
    func defaultModelDequantizesBitForBit() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let file = try GGUFFile(path: path)
        let data = try TestEnvironment.runPython(["Scripts/goldens/gguf_reference.py", "digest", path])
        let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tensors = try #require(reference["tensors"] as? [[String: Any]])
        #expect(tensors.count == file.tensors.count)
        var buffer = [Float]()
        for (entry, tensor) in zip(tensors, file.tensors) {
            #expect(entry["name"] as? String == tensor.name)
            buffer = [Float](repeating: 0, count: tensor.elementCount)
            buffer.withUnsafeMutableBufferPointer { Quantization.dequantize(tensor.type, from: file.data(for: tensor), into: $0) }
            let (weighted, squares) = Self.checksums(buffer)
            #expect(entry["weighted"] as? String == String(weighted) && entry["squares"] as? String == String(squares),
                    "\(tensor.name) (\(tensor.type)) differs from gguf-py")
        }
    }

    /// The sums documented in gguf_reference.py, over float32 bit patterns, modulo 2^64.
    static func checksums(_ values: [Float]) -> (UInt64, UInt64) {
        var weighted: UInt64 = 0, squares: UInt64 = 0
        for (i, v) in values.enumerated() {
            let bits = UInt64(v.bitPattern)
            weighted &+= bits &* (2 &* UInt64(i) &+ 1)
            squares &+= bits &* bits
        }
        return (weighted, squares)
    }
}
