/// Why a model cannot be built from a file, or a request cannot run on it.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownArchitecture(String, supported: [String])
    case missingTensor(String)
    case wrongShape(tensor: String, expected: [Int], found: [Int])
    case wrongType(tensor: String, expected: String, found: String)
    case badHyperparameter(key: String, reason: String)
    case unsupported(String)
    case contextOverflow(needed: Int, capacity: Int)
    case tokenOutOfRange(Int, vocabularySize: Int)
    case invalidBlockTable(positions: Int, blocks: Int, blockSize: Int)

    public var description: String {
        switch self {
        case .unknownArchitecture(let name, let supported):
            "unknown architecture '\(name)'; Phoenix runs \(supported.joined(separator: ", "))"
        case .missingTensor(let name):
            "the model has no tensor '\(name)'"
        case .wrongShape(let tensor, let expected, let found):
            "tensor '\(tensor)' has shape \(found), expected \(expected)"
        case .wrongType(let tensor, let expected, let found):
            "tensor '\(tensor)' is \(found), expected \(expected)"
        case .badHyperparameter(let key, let reason):
            "metadata '\(key)': \(reason)"
        case .unsupported(let what):
            "unsupported: \(what)"
        case .contextOverflow(let needed, let capacity):
            "\(needed) tokens do not fit in the context of \(capacity)"
        case .tokenOutOfRange(let id, let vocabularySize):
            "token id \(id) is outside the vocabulary of \(vocabularySize)"
        case .invalidBlockTable(let positions, let blocks, let blockSize):
            "a block table of \(blocks) blocks of \(blockSize) cannot hold \(positions) positions, or names a block outside the pool"
        }
    }
}
