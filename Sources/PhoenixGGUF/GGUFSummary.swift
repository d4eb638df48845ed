/// What `phoenix inspect` reports about a file: a plain Codable value, so the text table and `--json`
/// show the same facts.
public struct GGUFSummary: Codable, Sendable, Equatable {
    public struct Tokenizer: Codable, Sendable, Equatable {
        public var model: String?
        public var pre: String?
        public var vocabularySize: Int?
        public var mergeCount: Int?
        public var bosTokenID: Int?
        public var eosTokenID: Int?
        public var unknownTokenID: Int?
        public var paddingTokenID: Int?
        public var addBOS: Bool?
        public var addEOS: Bool?
        public var hasChatTemplate: Bool
    }

    public struct Tensor: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        /// ggml order: the first dimension varies fastest.
        public var shape: [Int]
        public var bytes: Int

        public init(_ info: GGUFTensorInfo) {
            name = info.name
            type = info.type.traits.name
            shape = info.dimensions
            bytes = info.byteCount
        }
    }

    public struct TypeTotal: Codable, Sendable, Equatable {
        public var type: String
        public var tensors: Int
        public var parameters: Int
        public var bytes: Int
    }

    public var path: String
    public var version: Int
    public var fileBytes: Int
    public var architecture: String?
    public var name: String?
    /// `<architecture>.*` keys, rendered as text.
    public var hyperparameters: [String: String]
    /// Every other metadata key that is not a big tokenizer array, rendered as text.
    public var otherMetadata: [String: String]
    public var tokenizer: Tokenizer
    public var tensors: [Tensor]
    public var totalParameters: Int
    public var totalTensorBytes: Int
    public var byType: [TypeTotal]

    public init(_ file: GGUFFile, path: String) {
        let meta = file.metadata
        self.path = path
        version = Int(file.version)
        fileBytes = file.fileSize
        architecture = try? meta.string("general.architecture")
        name = try? meta.string("general.name")

        var hyperparameters: [String: String] = [:], other: [String: String] = [:]
        let prefix = (architecture ?? "\u{0}") + "."
        for key in meta.keys {
            guard let value = meta[key] else { continue }
            if key.hasPrefix(prefix) {
                hyperparameters[String(key.dropFirst(prefix.count))] = Self.render(value)
            } else if !key.hasPrefix("tokenizer.") {
                other[key] = Self.render(value)
            }
        }
        self.hyperparameters = hyperparameters
        otherMetadata = other

        tokenizer = Tokenizer(
            model: try? meta.string("tokenizer.ggml.model"),
            pre: try? meta.string("tokenizer.ggml.pre"),
            vocabularySize: (try? meta.array("tokenizer.ggml.tokens"))?.count,
            mergeCount: (try? meta.array("tokenizer.ggml.merges"))?.count,
            bosTokenID: try? meta.int("tokenizer.ggml.bos_token_id"),
            eosTokenID: try? meta.int("tokenizer.ggml.eos_token_id"),
            unknownTokenID: try? meta.int("tokenizer.ggml.unknown_token_id"),
            paddingTokenID: try? meta.int("tokenizer.ggml.padding_token_id"),
            addBOS: try? meta.bool("tokenizer.ggml.add_bos_token"),
            addEOS: try? meta.bool("tokenizer.ggml.add_eos_token"),
            hasChatTemplate: meta.contains("tokenizer.chat_template"))

        tensors = file.tensors.map(Tensor.init)
        totalParameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        totalTensorBytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        var totals: [String: TypeTotal] = [:]
        for t in file.tensors {
            totals[t.type.traits.name, default: TypeTotal(type: t.type.traits.name, tensors: 0, parameters: 0, bytes: 0)]
                .add(t)
        }
        byType = totals.values.sorted { $0.bytes > $1.bytes }
    }

    /// A value as one line of text; long arrays are summarised, not printed whole.
    static func render(_ value: GGUFValue) -> String {
        switch value {
        case .string(let s): return s.count > 120 ? String(s.prefix(117)) + "..." : s
        case .float32(let f): return "\(f)"
        case .float64(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        case .array(let a):
            if a.count <= 8, let ints = a.intValues { return "\(ints)" }
            if a.count <= 8, case .float32(let floats) = a { return "\(floats)" }
            if a.count <= 8, case .string(let strings) = a { return "\(strings)" }
            return "array[\(a.elementType)] of \(a.count)"
        default: return value.intValue.map(String.init) ?? "\(value)"
        }
    }
}

extension GGUFSummary.TypeTotal {
    mutating func add(_ tensor: GGUFTensorInfo) {
        tensors += 1
        parameters += tensor.elementCount
        bytes += tensor.byteCount
    }
}
