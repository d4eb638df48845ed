import PhoenixQuant

// Byte layout (GGUF v2/v3, little-endian; v1 used 32-bit counts and is not read):
//   u32 magic "GGUF" | u32 version | u64 tensorCount | u64 metadataCount
//   metadataCount × { string key | u32 valueType | value }
//       string = u64 length + UTF-8 bytes; array = u32 elementType + u64 count + elements
//   tensorCount × { string name | u32 dimensionCount | u64 × dimensionCount (ne0 first) | u32 type | u64 offset }
//   padding to `general.alignment` (default 32)
//   tensor data: each tensor at data start + its offset, a multiple of the alignment

/// An opened GGUF file: metadata and tensor infos parsed and checked, tensor data left in place.
///
/// Opening reads only the header; tensor bytes stay memory-mapped and are handed out zero-copy by
/// `data(for:)`. Every count, length, offset and dimension is checked against the file before it is
/// used, so a truncated or hostile file throws a `GGUFError` naming the problem and its offset.
/// Immutable, so safe to share between threads.
public final class GGUFFile: Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian u32
    public static let defaultAlignment = 32

    public let version: UInt32
    public let metadata: GGUFMetadata
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, or 32.
    public let alignment: Int
    /// Absolute offset of the tensor data section.
    public let dataOffset: Int
    /// Total size of the file in bytes.
    public var fileSize: Int { storage.bytes.count }

    private let storage: ByteStorage
    private let tensorIndex: [String: Int]

    /// Maps and parses the file at `path`.
    public convenience init(path: String) throws {
        try self.init(storage: ByteStorage.map(path: path))
    }

    /// Parses a file held in memory (a private copy is made).
    public convenience init(bytes: [UInt8]) throws {
        try self.init(storage: ByteStorage.copy(bytes))
    }

    private init(storage: ByteStorage) throws {
        self.storage = storage
        var reader = ByteReader(storage.bytes)

        // Header
        let magic = try reader.read(UInt32.self)
        guard magic == Self.magic else {
            throw GGUFError.badMagic(found: Array(storage.bytes[0..<4]))
        }
        version = try reader.read(UInt32.self)
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        let tensorCountOffset = reader.offset
        let tensorCount = try reader.read(UInt64.self)
        let metadataCountOffset = reader.offset
        let metadataCount = try reader.read(UInt64.self)
        // The smallest metadata entry is 13 bytes and the smallest tensor info 24: a count the rest of the
        // file cannot hold is rejected before anything is allocated for it.
        guard metadataCount <= UInt64(reader.remaining / 13) else {
            throw GGUFError.countTooLarge(what: "metadata count", count: metadataCount, offset: metadataCountOffset)
        }
        guard tensorCount <= UInt64(reader.remaining / 24) else {
            throw GGUFError.countTooLarge(what: "tensor count", count: tensorCount, offset: tensorCountOffset)
        }

        // Metadata
        var metadata = GGUFMetadata()
        for index in 0..<Int(metadataCount) {
            reader.section = "metadata entry \(index)"
            let keyOffset = reader.offset
            let key = try reader.readString(what: "metadata key")
            reader.section = "metadata '\(key)'"
            let type = try Self.readValueType(&reader)
            let value = try Self.readValue(type, &reader, depth: 0)
            guard metadata.insert(key, value, offset: keyOffset) else { throw GGUFError.duplicateKey(key, offset: keyOffset) }
        }
        self.metadata = metadata

        alignment = try Self.alignment(in: metadata, reader: reader)

        // Tensor infos
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(Int(tensorCount))
        var tensorIndex: [String: Int] = [:]
        for index in 0..<Int(tensorCount) {
            reader.section = "tensor info \(index)"
            let infoOffset = reader.offset
            let info = try Self.readTensorInfo(&reader)
            guard tensorIndex.updateValue(tensors.count, forKey: info.name) == nil else {
                throw GGUFError.duplicateTensor(info.name, offset: infoOffset)
            }
            guard info.offset % alignment == 0 else {
                throw GGUFError.misalignedTensor(tensor: info.name, dataOffset: info.offset, alignment: alignment)
            }
            tensors.append(info)
        }

        // Tensor data
        reader.section = "padding before tensor data"
        if tensorCount > 0 { try reader.align(to: alignment) }
        dataOffset = min(reader.offset, storage.bytes.count)
        let dataSize = storage.bytes.count - dataOffset
        try Self.checkPlacement(tensors, dataSize: dataSize)
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    /// The tensor called `name`, if the file has one.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of `tensor`, straight from the mapping: valid as long as this file is alive.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        return UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + tensor.byteCount])
    }

    /// Tells the system that `tensor`'s bytes will not be read again soon. From a mapped file, the
    /// whole pages among them leave this process's memory (its resident size), and come back from the
    /// file if read after all; a file built in memory keeps them. Returns the bytes that left.
    @discardableResult
    public func releasePages(of tensor: GGUFTensorInfo) -> Int {
        storage.releasePages(data(for: tensor))
    }

    /// All the file's bytes (header included), valid as long as this file is alive.
    public var bytes: UnsafeRawBufferPointer { storage.bytes }
}

// MARK: - Parsing helpers

extension GGUFFile {
    private static let maximumNesting = 4

    static func readValueType(_ reader: inout ByteReader) throws -> GGUFValueType {
        let offset = reader.offset
        let raw = try reader.read(UInt32.self)
        guard let type = GGUFValueType(rawValue: raw) else { throw GGUFError.unknownValueType(raw, offset: offset) }
        return type
    }

    static func readValue(_ type: GGUFValueType, _ reader: inout ByteReader, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self))
        case .int8: return .int8(try reader.read(Int8.self))
        case .uint16: return .uint16(try reader.read(UInt16.self))
        case .int16: return .int16(try reader.read(Int16.self))
        case .uint32: return .uint32(try reader.read(UInt32.self))
        case .int32: return .int32(try reader.read(Int32.self))
        case .uint64: return .uint64(try reader.read(UInt64.self))
        case .int64: return .int64(try reader.read(Int64.self))
        case .float32: return .float32(try reader.readFloat())
        case .float64: return .float64(try reader.readDouble())
        case .bool: return .bool(try reader.readBool())
        case .string: return .string(try reader.readString(what: "string value"))
        case .array: return .array(try readArray(&reader, depth: depth + 1))
        }
    }

    static func readArray(_ reader: inout ByteReader, depth: Int) throws -> GGUFArray {
        let start = reader.offset
        guard depth <= maximumNesting else { throw GGUFError.nestingTooDeep(offset: start) }
        let elementType = try readValueType(&reader)
        let countOffset = reader.offset
        let rawCount = try reader.read(UInt64.self)
        guard rawCount <= UInt64(reader.remaining / elementType.minimumEncodedBytes) else {
            throw GGUFError.countTooLarge(what: "array of \(elementType)", count: rawCount, offset: countOffset)
        }
        let count = Int(rawCount)
        switch elementType {
        case .uint8: return .uint8(try reader.readArray(UInt8.self, count: count))
        case .int8: return .int8(try reader.readArray(Int8.self, count: count))
        case .uint16: return .uint16(try reader.readArray(UInt16.self, count: count))
        case .int16: return .int16(try reader.readArray(Int16.self, count: count))
        case .uint32: return .uint32(try reader.readArray(UInt32.self, count: count))
        case .int32: return .int32(try reader.readArray(Int32.self, count: count))
        case .uint64: return .uint64(try reader.readArray(UInt64.self, count: count))
        case .int64: return .int64(try reader.readArray(Int64.self, count: count))
        case .float32: return .float32(try reader.readArray(UInt32.self, count: count).map(Float.init(bitPattern:)))
        case .float64: return .float64(try reader.readArray(UInt64.self, count: count).map(Double.init(bitPattern:)))
        case .bool:
            var values: [Bool] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try reader.readBool()) }
            return .bool(values)
        case .string:
            var values: [String] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try reader.readString(what: "string array element")) }
            return .string(values)
        case .array:
            var values: [GGUFArray] = []
            for _ in 0..<count { values.append(try readArray(&reader, depth: depth + 1)) }
            return .array(values)
        }
    }

    static func alignment(in metadata: GGUFMetadata, reader: ByteReader) throws -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard case .uint32(let raw) = value else {
            throw GGUFError.typeMismatch(key: "general.alignment", expected: "uint32", found: value.typeName)
        }
        guard raw > 0, raw <= 1 << 30, raw & (raw - 1) == 0 else {
            throw GGUFError.badAlignment("\(raw)", offset: metadata.offsets["general.alignment"] ?? 0)
        }
        return Int(raw)
    }

    static func readTensorInfo(_ reader: inout ByteReader) throws -> GGUFTensorInfo {
        let name = try reader.readString(what: "tensor name")
        reader.section = "tensor info '\(name)'"
        let dimensionsOffset = reader.offset
        let dimensionCount = try reader.read(UInt32.self)
        guard dimensionCount >= 1, dimensionCount <= UInt32(GGUFTensorInfo.maximumDimensions) else {
            throw GGUFError.badDimensions(tensor: name, dimensions: [], reason: "\(dimensionCount) dimensions (1 to 4 allowed)",
                                          offset: dimensionsOffset)
        }
        let raw = try reader.readArray(UInt64.self, count: Int(dimensionCount))
        var elementCount = 1
        for dimension in raw {
            guard dimension <= UInt64(Int.max) else {
                throw GGUFError.badDimensions(tensor: name, dimensions: raw, reason: "a dimension exceeds 2^63",
                                              offset: dimensionsOffset)
            }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow else {
                throw GGUFError.badDimensions(tensor: name, dimensions: raw, reason: "element count overflows",
                                              offset: dimensionsOffset)
            }
            elementCount = product
        }
        let typeOffset = reader.offset
        let typeID = try reader.read(UInt32.self)
        guard let type = QuantType(rawValue: typeID) else {
            throw GGUFError.unknownTensorType(id: typeID, tensor: name, offset: typeOffset)
        }
        guard raw[0] % UInt64(type.traits.weightsPerBlock) == 0, let byteCount = type.byteCount(forWeights: elementCount) else {
            throw GGUFError.badDimensions(tensor: name, dimensions: raw,
                                          reason: "first dimension is not a multiple of \(type)'s block of \(type.traits.weightsPerBlock)",
                                          offset: dimensionsOffset)
        }
        // An offset past Int.max is clamped: checkPlacement then rejects it as out of bounds.
        let dataOffset = Int(clamping: try reader.read(UInt64.self))
        return GGUFTensorInfo(name: name, dimensions: raw.map { Int($0) }, type: type, offset: dataOffset,
                              elementCount: elementCount, byteCount: byteCount)
    }

    /// Every tensor must lie inside the data section, and no two may share a byte.
    static func checkPlacement(_ tensors: [GGUFTensorInfo], dataSize: Int) throws {
        for t in tensors where t.byteCount > dataSize || t.offset > dataSize - t.byteCount {
            throw GGUFError.tensorOutOfBounds(tensor: t.name, dataOffset: t.offset, byteCount: t.byteCount, dataSize: dataSize)
        }
        let ordered = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw GGUFError.overlappingTensors(a.name, b.name, dataOffset: b.offset)
        }
    }
}
