import PhoenixGGUF
import PhoenixQuant
import PhoenixTestSupport
import Testing

@Suite struct GGUFRoundTripTests {
    static func sampleMetadata() -> GGUFMetadata {
        var meta = GGUFMetadata()
        meta.set("general.architecture", .string("llama"))
        meta.set("u8", .uint8(200))
        meta.set("i8", .int8(-100))
        meta.set("u16", .uint16(60_000))
        meta.set("i16", .int16(-30_000))
        meta.set("u32", .uint32(4_000_000_000))
        meta.set("i32", .int32(-2_000_000_000))
        meta.set("u64", .uint64(1 << 60))
        meta.set("i64", .int64(-(1 << 60)))
        meta.set("f32", .float32(0.125))
        meta.set("f64", .float64(-1e300))
        meta.set("flag", .bool(true))
        meta.set("text", .string("héllo ▁ 世界 🙂"))
        meta.set("tokens", .array(.string(["<unk>", "▁a", "", "🙂"])))
        meta.set("scores", .array(.float32([0, -1.5, 3.25])))
        meta.set("types", .array(.int32([1, 2, 3])))
        meta.set("nested", .array(.array([.uint8([1, 2]), .uint8([])])))
        meta.set("flags", .array(.bool([true, false])))
        meta.set("big", .array(.uint64([UInt64.max])))
        return meta
    }

    @Test func metadataAndTensorsSurviveARoundTrip() throws {
        var writer = GGUFWriter()
        writer.metadata = Self.sampleMetadata()
        var rng = SplitMix64(seed: 1)
        let weights = rng.floats(3 * 64)
        try writer.addTensor("blk.0.weight", dimensions: [64, 3], values: weights)
        let q8 = rng.bytes(2 * 34)
        try writer.addTensor("blk.0.q8", dimensions: [32, 2], type: .q8_0, bytes: q8)
        try writer.addTensor("one", dimensions: [1], values: [42])

        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file.version == 3)
        #expect(file.metadata == Self.sampleMetadata())
        #expect(file.metadata.keys == Self.sampleMetadata().keys)
        #expect(file.tensors.map(\.name) == ["blk.0.weight", "blk.0.q8", "one"])
        let w = try #require(file.tensor(named: "blk.0.weight"))
        #expect(w.dimensions == [64, 3] && w.type == .f32 && w.elementCount == 192 && w.byteCount == 768)
        #expect(Array(file.data(for: w).bindMemory(to: Float.self)) == weights)
        #expect(Array(file.data(for: try #require(file.tensor(named: "blk.0.q8")))) == q8)
        for t in file.tensors { #expect((file.dataOffset + t.offset) % 32 == 0) }
    }

    @Test func typedAccessorsConvertAndNameTheKey() throws {
        let meta = Self.sampleMetadata()
        #expect(try meta.int("u8") == 200)
        #expect(try meta.int("i64") == -(1 << 60))
        #expect(try meta.float("f64") == -1e300 as Float)
        #expect(try meta.stringArray("tokens") == ["<unk>", "▁a", "", "🙂"])
        #expect(try meta.intArray("types") == [1, 2, 3])
        #expect(try meta.floatArray("scores") == [0, -1.5, 3.25])
        #expect(try meta.int("missing", default: 7) == 7)
        #expect(throws: GGUFError.missingKey("missing")) { try meta.int("missing") }
        #expect(throws: GGUFError.typeMismatch(key: "text", expected: "an integer", found: "string")) { try meta.int("text") }
        #expect(throws: GGUFError.typeMismatch(key: "tokens", expected: "array of floats", found: "array[string]")) {
            try meta.floatArray("tokens")
        }
        var huge = meta
        huge.set("huge", .uint64(.max))
        #expect(throws: GGUFError.valueOutOfRange(key: "huge", value: "\(UInt64.max)")) { try huge.int("huge") }
        #expect(throws: GGUFError.self) { try meta.intArray("big") }
    }

    @Test func customAlignmentIsWrittenAndHonoured() throws {
        var writer = GGUFWriter()
        writer.alignment = 64
        try writer.addTensor("a", dimensions: [3], values: [1, 2, 3])
        try writer.addTensor("b", dimensions: [5], values: [4, 5, 6, 7, 8])
        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file.alignment == 64)
        #expect(try file.metadata.int("general.alignment") == 64)
        let b = try #require(file.tensor(named: "b"))
        #expect(b.offset == 64)
        #expect(Array(file.data(for: b).bindMemory(to: Float.self)) == [4, 5, 6, 7, 8])
    }

    @Test func writerRejectsSizesThatDoNotMatch() {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.addTensor("x", dimensions: [31], type: .q8_0, bytes: [UInt8](repeating: 0, count: 34)) }
        #expect(throws: GGUFError.self) { try writer.addTensor("x", dimensions: [32], type: .q8_0, bytes: [UInt8](repeating: 0, count: 33)) }
    }
}
