import Foundation
import PhoenixQuant

/// Builds a GGUF v3 file (the layout documented in GGUFFile.swift) that gguf-py and llama.cpp read back.
///
/// Tensors are laid out in the order added, each at the next multiple of `alignment`.
public struct GGUFWriter: Sendable {
    public var metadata = GGUFMetadata()
    /// Data alignment; written as `general.alignment` when it is not the default 32.
    public var alignment: Int = GGUFFile.defaultAlignment
    private var tensors: [(info: GGUFTensorInfo, bytes: [UInt8])] = []

    public init() {}

    /// Adds a tensor whose bytes are already in `type`'s block format.
    public mutating func addTensor(_ name: String, dimensions: [Int], type: QuantType, bytes: [UInt8]) throws {
        let elementCount = dimensions.reduce(1, *)
        guard !dimensions.isEmpty, dimensions.count <= GGUFTensorInfo.maximumDimensions,
              dimensions[0] % type.traits.weightsPerBlock == 0,
              let byteCount = type.byteCount(forWeights: elementCount), byteCount == bytes.count
        else {
            throw GGUFError.badDimensions(tensor: name, dimensions: dimensions.map { UInt64($0) },
                                          reason: "\(bytes.count) bytes do not hold \(dimensions) of \(type)", offset: 0)
        }
        guard !tensors.contains(where: { $0.info.name == name }) else { throw GGUFError.duplicateTensor(name, offset: 0) }
        let info = GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: 0,
                                  elementCount: elementCount, byteCount: byteCount)
        tensors.append((info, bytes))
    }

    /// Adds a float32 tensor.
    public mutating func addTensor(_ name: String, dimensions: [Int], values: [Float]) throws {
        let bytes = values.withUnsafeBufferPointer { buffer in
            Array(UnsafeRawBufferPointer(buffer))  // little-endian hosts only, like ggml
        }
        try addTensor(name, dimensions: dimensions, type: .f32, bytes: bytes)
    }

    /// The whole file as bytes.
    public func serialized() -> [UInt8] {
        var meta = metadata
        if alignment != GGUFFile.defaultAlignment { meta.set("general.alignment", .uint32(UInt32(alignment))) }

        var out = ByteWriter()
        out.put(GGUFFile.magic)
        out.put(UInt32(3))
        out.put(UInt64(tensors.count))
        out.put(UInt64(meta.count))
        for key in meta.keys {
            out.putString(key)
            let value = meta[key]!  // every key in `keys` has a value
            out.put(value.type.rawValue)
            out.putValue(value)
        }
        var dataOffset = 0
        var placed: [Int] = []
        for (info, _) in tensors {
            out.putString(info.name)
            out.put(UInt32(info.dimensions.count))
            for dimension in info.dimensions { out.put(UInt64(dimension)) }
            out.put(info.type.rawValue)
            out.put(UInt64(dataOffset))
            placed.append(dataOffset)
            dataOffset = Self.padded(dataOffset + info.byteCount, to: alignment)
        }
        out.pad(to: alignment)
        let dataStart = out.bytes.count
        for ((_, bytes), offset) in zip(tensors, placed) {
            out.bytes.append(contentsOf: repeatElement(0, count: dataStart + offset - out.bytes.count))
            out.bytes.append(contentsOf: bytes)
        }
        if !tensors.isEmpty { out.pad(to: alignment) }
        return out.bytes
    }

    /// Writes the file atomically: a temporary file beside `path`, then a rename.
    public func write(to path: String) throws {
        do {
            try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw GGUFError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    static func padded(_ offset: Int, to alignment: Int) -> Int {
        (offset + alignment - 1) / alignment * alignment
    }
}

/// Little-endian serialization of GGUF primitives.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func putString(_ string: String) {
        let utf8 = Array(string.utf8)
        put(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func pad(to alignment: Int) {
        bytes.append(contentsOf: repeatElement(0, count: GGUFWriter.padded(bytes.count, to: alignment) - bytes.count))
    }

    mutating func putValue(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): put(v)
        case .int8(let v): put(v)
        case .uint16(let v): put(v)
        case .int16(let v): put(v)
        case .uint32(let v): put(v)
        case .int32(let v): put(v)
        case .uint64(let v): put(v)
        case .int64(let v): put(v)
        case .float32(let v): put(v.bitPattern)
        case .float64(let v): put(v.bitPattern)
        case .bool(let v): put(UInt8(v ? 1 : 0))
        case .string(let s): putString(s)
        case .array(let a): putArray(a)
        }
    }

    mutating func putArray(_ array: GGUFArray) {
        put(array.elementType.rawValue)
        put(UInt64(array.count))
        switch array {
        case .uint8(let a): a.forEach { put($0) }
        case .int8(let a): a.forEach { put($0) }
        case .uint16(let a): a.forEach { put($0) }
        case .int16(let a): a.forEach { put($0) }
        case .uint32(let a): a.forEach { put($0) }
        case .int32(let a): a.forEach { put($0) }
        case .uint64(let a): a.forEach { put($0) }
        case .int64(let a): a.forEach { put($0) }
        case .float32(let a): a.forEach { put($0.bitPattern) }
        case .float64(let a): a.forEach { put($0.bitPattern) }
        case .bool(let a): a.forEach { put(UInt8($0 ? 1 : 0)) }
        case .string(let a): a.forEach { putString($0) }
        case .array(let a): a.forEach { putArray($0) }
        }
    }
}
