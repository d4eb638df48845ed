import PhoenixGGUF
import PhoenixQuant
import PhoenixTestSupport
import Testing

/// A GGUF file is untrusted input: every malformation must become a `GGUFError` naming the problem.
@Suite struct GGUFBadInputTests {
    /// A small valid file: metadata of several types and three tensors.
    static func validFile() throws -> [UInt8] {
        var writer = GGUFWriter()
        writer.metadata.set("general.architecture", .string("llama"))
        writer.metadata.set("llama.block_count", .uint32(2))
        writer.metadata.set("tokenizer.ggml.tokens", .array(.string(["<s>", "a", "bc"])))
        writer.metadata.set("tokenizer.ggml.scores", .array(.float32([0, 1, 2])))
        writer.metadata.set("nested", .array(.array([.int16([1, -1])])))
        try writer.addTensor("a", dimensions: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
        try writer.addTensor("b", dimensions: [32], type: .q8_0, bytes: [UInt8](repeating: 1, count: 34))
        try writer.addTensor("c", dimensions: [2], type: .f16, bytes: [0, 60, 0, 188])
        return writer.serialized()
    }

    @Test func truncationAtEveryByteIsReported() throws {
        let bytes = try Self.validFile()
        for length in 0..<bytes.count - 1 {
            do {
                let file = try GGUFFile(bytes: Array(bytes[0..<length]))
                // Only the zero padding after the last tensor may be cut without losing data.
                let end = file.tensors.map { file.dataOffset + $0.offset + $0.byteCount }.max() ?? 0
                #expect(length >= end, "a file cut at \(length) parsed although tensor data ends at \(end)")
            } catch let error as GGUFError {
                switch error {
                case .truncated, .stringTooLong, .countTooLarge, .tensorOutOfBounds, .badMagic: break
                default: Issue.record("cut at \(length): unexpected \(error)")
                }
            }
        }
    }

    @Test func wrongMagicAndVersions() throws {
        var bytes = try Self.validFile()
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: GGUFError.badMagic(found: Array("XGUF".utf8))) { try GGUFFile(bytes: bytes) }
        for version: UInt32 in [0, 1, 4, 0xFFFF_FFFF] {
            var raw = RawGGUF.header(version: version, tensors: 0, metadata: 0)
            raw.pad(to: 32)
            #expect(throws: GGUFError.unsupportedVersion(version)) { try GGUFFile(bytes: raw.bytes) }
        }
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: []) }
    }

    @Test func absurdCountsAreRejectedBeforeAllocating() {
        var raw = RawGGUF.header(tensors: 1 << 40, metadata: 0)
        raw.bytes += [UInt8](repeating: 0, count: 100)
        #expect(throws: GGUFError.countTooLarge(what: "tensor count", count: 1 << 40, offset: 8)) { try GGUFFile(bytes: raw.bytes) }

        raw = RawGGUF.header(tensors: 0, metadata: UInt64.max)
        #expect(throws: GGUFError.countTooLarge(what: "metadata count", count: .max, offset: 16)) { try GGUFFile(bytes: raw.bytes) }

        raw = RawGGUF.header(tensors: 0, metadata: 1)
        raw.string("k")
        raw.u32(9)               // array
        raw.u32(10)              // of uint64
        raw.u64(1 << 61)         // elements
        raw.bytes += [UInt8](repeating: 0, count: 64)
        #expect(throws: GGUFError.countTooLarge(what: "array of uint64", count: 1 << 61, offset: 41)) { try GGUFFile(bytes: raw.bytes) }
    }

    @Test func hugeStringLengthIsRejected() {
        var raw = RawGGUF.header(tensors: 0, metadata: 1)
        raw.u64(1 << 62)  // key length
        raw.bytes += Array("key".utf8) + [UInt8](repeating: 0, count: 16)
        #expect(throws: GGUFError.stringTooLong(length: 1 << 62, offset: 24)) { try GGUFFile(bytes: raw.bytes) }
    }

    @Test func unknownValueTypeAndBadUTF8() {
        var raw = RawGGUF.header(tensors: 0, metadata: 1)
        raw.string("k")
        raw.u32(13)
        raw.u32(0)
        #expect(throws: GGUFError.unknownValueType(13, offset: 33)) { try GGUFFile(bytes: raw.bytes) }

        raw = RawGGUF.header(tensors: 0, metadata: 1)
        raw.u64(2)
        raw.bytes += [0xC3, 0x28]  // a broken two-byte sequence
        raw.u32(7)
        raw.bytes.append(1)
        #expect(throws: GGUFError.invalidUTF8(what: "metadata key", offset: 24)) { try GGUFFile(bytes: raw.bytes) }
    }

    @Test func duplicateKeysAndTensors() {
        var raw = RawGGUF.header(tensors: 0, metadata: 2)
        for _ in 0..<2 { raw.string("k"); raw.u32(4); raw.u32(1) }
        #expect(throws: GGUFError.duplicateKey("k", offset: 41)) { try GGUFFile(bytes: raw.bytes) }

        raw = RawGGUF.header(tensors: 2, metadata: 0)
        raw.tensorInfo("t", dims: [8], type: 0, offset: 0)
        raw.tensorInfo("t", dims: [8], type: 0, offset: 32)
        raw.pad(to: 32)
        raw.bytes += [UInt8](repeating: 0, count: 64)
        #expect(throws: GGUFError.duplicateTensor("t", offset: 57)) { try GGUFFile(bytes: raw.bytes) }
    }

    @Test func unknownTensorTypeAndBadDimensions() {
        func file(dims: [UInt64], type: UInt32, offset: UInt64 = 0, data: Int = 64) -> [UInt8] {
            var raw = RawGGUF.header(tensors: 1, metadata: 0)
            raw.tensorInfo("w", dims: dims, type: type, offset: offset)
            raw.pad(to: 32)
            raw.bytes += [UInt8](repeating: 0, count: data)
            return raw.bytes
        }
        #expect(throws: GGUFError.unknownTensorType(id: 99, tensor: "w", offset: 45)) { try GGUFFile(bytes: file(dims: [8], type: 99)) }
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: file(dims: [], type: 0)) }
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: file(dims: [1, 1, 1, 1, 1], type: 0)) }
        // 2^32 x 2^32 elements overflow Int64 once multiplied by 2^32 again.
        #expect(throws: GGUFError.badDimensions(tensor: "w", dimensions: [1 << 32, 1 << 32, 1 << 32],
                                                reason: "element count overflows", offset: 33)) {
            try GGUFFile(bytes: file(dims: [1 << 32, 1 << 32, 1 << 32], type: 0))
        }
        // Q8_0 rows must be whole blocks of 32.
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: file(dims: [33], type: 8)) }
    }

    @Test func tensorPlacementIsChecked() {
        func file(_ tensors: [(String, UInt64, UInt64)], data: Int) -> [UInt8] {
            var raw = RawGGUF.header(tensors: UInt64(tensors.count), metadata: 0)
            for (name, count, offset) in tensors { raw.tensorInfo(name, dims: [count], type: 0, offset: offset) }
            raw.pad(to: 32)
            raw.bytes += [UInt8](repeating: 0, count: data)
            return raw.bytes
        }
        #expect(throws: GGUFError.tensorOutOfBounds(tensor: "a", dataOffset: 32, byteCount: 64, dataSize: 64)) {
            try GGUFFile(bytes: file([("a", 16, 32)], data: 64))
        }
        #expect(throws: GGUFError.tensorOutOfBounds(tensor: "a", dataOffset: 1 << 40, byteCount: 4, dataSize: 64)) {
            try GGUFFile(bytes: file([("a", 1, 1 << 40)], data: 64))
        }
        #expect(throws: GGUFError.misalignedTensor(tensor: "a", dataOffset: 4, alignment: 32)) {
            try GGUFFile(bytes: file([("a", 1, 4)], data: 64))
        }
        #expect(throws: GGUFError.overlappingTensors("a", "b", dataOffset: 32)) {
            try GGUFFile(bytes: file([("a", 16, 0), ("b", 8, 32)], data: 96))
        }
    }

    @Test func badAlignmentValues() {
        for value: UInt32 in [0, 3, 48, 1 << 31] {
            var raw = RawGGUF.header(tensors: 0, metadata: 1)
            raw.string("general.alignment")
            raw.u32(4)
            raw.u32(value)
            #expect(throws: GGUFError.badAlignment("\(value)", offset: 24)) { try GGUFFile(bytes: raw.bytes) }
        }
    }

    /// Thousands of seeded corruptions of a valid file: each parses or throws a GGUFError, and when it
    /// parses, every tensor's bytes lie inside the file.
    @Test(arguments: [1, 2, 3, 4])
    func seededMutationsNeverCrash(seed: Int) throws {
        let original = try Self.validFile()
        var rng = SplitMix64(seed: UInt64(seed))
        let extremes: [UInt64] = [0, 1, 0xFF, 0xFFFF_FFFF, 1 << 32, 1 << 40, 1 << 62, .max, .max - 31]
        var parsed = 0, rejected = 0
        for _ in 0..<1_000 {
            var bytes = original
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:  // flip one to four random bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:  // an extreme u64 at a random 8-byte-aligned or unaligned position
                let value = extremes.randomElement(using: &rng)!
                let at = Int.random(in: 0..<bytes.count - 8, using: &rng)
                withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[at + i] = b } }
            case 2:  // an extreme u32
                let value = UInt32(truncatingIfNeeded: extremes.randomElement(using: &rng)!)
                let at = Int.random(in: 0..<bytes.count - 4, using: &rng)
                withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[at + i] = b } }
            default:  // cut and corrupt
                bytes = Array(bytes[0..<Int.random(in: 0..<bytes.count, using: &rng)])
                if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 0x80 }
            }
            do {
                let file = try GGUFFile(bytes: bytes)
                for t in file.tensors {
                    #expect(file.dataOffset + t.offset + t.byteCount <= bytes.count)
                    _ = file.data(for: t).reduce(0 as UInt8, &+)  // touch every byte
                }
                parsed += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        #expect(parsed + rejected == 1_000)
        #expect(rejected > 100, "mutations should mostly be caught")
    }
}
