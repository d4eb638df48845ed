/// Everything that can be wrong with a GGUF file or with a question asked of its metadata.
/// Every case that comes from the file's bytes carries the absolute byte offset where the problem starts,
/// so a user can look at the file with a hex viewer.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case truncated(section: String, offset: Int, needed: Int, fileSize: Int)
    case badMagic(found: [UInt8])
    case unsupportedVersion(UInt32)
    case countTooLarge(what: String, count: UInt64, offset: Int)
    case stringTooLong(length: UInt64, offset: Int)
    case invalidUTF8(what: String, offset: Int)
    case unknownValueType(UInt32, offset: Int)
    case nestingTooDeep(offset: Int)
    case duplicateKey(String, offset: Int)
    case badAlignment(String, offset: Int)
    case duplicateTensor(String, offset: Int)
    case unknownTensorType(id: UInt32, tensor: String, offset: Int)
    case badDimensions(tensor: String, dimensions: [UInt64], reason: String, offset: Int)
    case tensorOutOfBounds(tensor: String, dataOffset: Int, byteCount: Int, dataSize: Int)
    case misalignedTensor(tensor: String, dataOffset: Int, alignment: Int)
    case overlappingTensors(String, String, dataOffset: Int)
    case missingKey(String)
    case typeMismatch(key: String, expected: String, found: String)
    case valueOutOfRange(key: String, value: String)
    case missingTensor(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open \(path): \(reason)"
        case .truncated(let section, let offset, let needed, let fileSize):
            "file is truncated: \(section) at offset \(offset) needs \(needed) bytes, but the file has \(fileSize)"
        case .badMagic(let found):
            "not a GGUF file: magic at offset 0 is \(found.map { String(format2: $0) }.joined(separator: " ")), expected 47 47 55 46 (\"GGUF\")"
        case .unsupportedVersion(let version):
            "unsupported GGUF version \(version) at offset 4 (Phoenix reads versions 2 and 3)"
        case .countTooLarge(let what, let count, let offset):
            "\(what) of \(count) at offset \(offset) is larger than the rest of the file could hold (the file is truncated or corrupt)"
        case .stringTooLong(let length, let offset):
            "string length \(length) at offset \(offset) runs past the end of the file"
        case .invalidUTF8(let what, let offset):
            "\(what) at offset \(offset) is not valid UTF-8"
        case .unknownValueType(let type, let offset):
            "unknown metadata value type \(type) at offset \(offset)"
        case .nestingTooDeep(let offset):
            "metadata arrays nested too deeply at offset \(offset)"
        case .duplicateKey(let key, let offset):
            "metadata key '\(key)' appears twice (second at offset \(offset))"
        case .badAlignment(let value, let offset):
            "general.alignment \(value) at offset \(offset) is not a power of two between 1 and 2^30"
        case .duplicateTensor(let name, let offset):
            "tensor '\(name)' appears twice (second at offset \(offset))"
        case .unknownTensorType(let id, let tensor, let offset):
            "tensor '\(tensor)' has unknown or unsupported type id \(id) at offset \(offset)"
        case .badDimensions(let tensor, let dimensions, let reason, let offset):
            "tensor '\(tensor)' has bad dimensions \(dimensions) at offset \(offset): \(reason)"
        case .tensorOutOfBounds(let tensor, let dataOffset, let byteCount, let dataSize):
            "tensor '\(tensor)' at data offset \(dataOffset) with \(byteCount) bytes runs past the end of the data section (\(dataSize) bytes)"
        case .misalignedTensor(let tensor, let dataOffset, let alignment):
            "tensor '\(tensor)' data offset \(dataOffset) is not a multiple of the alignment \(alignment)"
        case .overlappingTensors(let a, let b, let dataOffset):
            "tensors '\(a)' and '\(b)' overlap at data offset \(dataOffset)"
        case .missingKey(let key):
            "metadata key '\(key)' is missing"
        case .typeMismatch(let key, let expected, let found):
            "metadata key '\(key)' is \(found), expected \(expected)"
        case .valueOutOfRange(let key, let value):
            "metadata key '\(key)' has value \(value), which is out of range"
        case .missingTensor(let name):
            "tensor '\(name)' is missing"
        case .writeFailed(let path, let reason):
            "cannot write \(path): \(reason)"
        }
    }
}

extension String {
    /// Two hex digits, for byte dumps in messages.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
