/// A GGUF file's key-value metadata, in file order, with typed accessors that throw an error naming the
/// key and the type found, so a model config can decode itself with `try` and no force-unwraps.
public struct GGUFMetadata: Sendable, Equatable {
    /// Keys in file order.
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    /// Absolute offset of each key in the file it was read from (empty for metadata built in code).
    public private(set) var offsets: [String: Int] = [:]

    public init() {}

    /// Equal keys in the same order with equal values; where they were read from does not matter.
    public static func == (a: GGUFMetadata, b: GGUFMetadata) -> Bool { a.keys == b.keys && a.values == b.values }

    public subscript(key: String) -> GGUFValue? { values[key] }

    public func contains(_ key: String) -> Bool { values[key] != nil }

    public var count: Int { keys.count }

    /// Adds `value` under a new `key`; returns false (and changes nothing) when the key already exists.
    @discardableResult
    public mutating func insert(_ key: String, _ value: GGUFValue, offset: Int? = nil) -> Bool {
        guard values[key] == nil else { return false }
        keys.append(key)
        values[key] = value
        if let offset { offsets[key] = offset }
        return true
    }

    /// Sets `key` to `value`, keeping its place if it already exists.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    // MARK: - Typed accessors

    private func require(_ key: String) throws -> GGUFValue {
        guard let value = values[key] else { throw GGUFError.missingKey(key) }
        return value
    }

    public func string(_ key: String) throws -> String {
        let value = try require(key)
        guard case .string(let s) = value else { throw mismatch(key, "string", value) }
        return s
    }

    public func string(_ key: String, default fallback: String) throws -> String {
        contains(key) ? try string(key) : fallback
    }

    /// Any integer type, as `Int`.
    public func int(_ key: String) throws -> Int {
        let value = try require(key)
        guard let int = value.intValue else {
            if case .uint64(let big) = value { throw GGUFError.valueOutOfRange(key: key, value: "\(big)") }
            throw mismatch(key, "an integer", value)
        }
        return int
    }

    public func int(_ key: String, default fallback: Int) throws -> Int {
        contains(key) ? try int(key) : fallback
    }

    /// float32 or float64, as `Float`.
    public func float(_ key: String) throws -> Float {
        let value = try require(key)
        switch value {
        case .float32(let f): return f
        case .float64(let d): return Float(d)
        default: throw mismatch(key, "a float", value)
        }
    }

    public func float(_ key: String, default fallback: Float) throws -> Float {
        contains(key) ? try float(key) : fallback
    }

    public func bool(_ key: String) throws -> Bool {
        let value = try require(key)
        guard case .bool(let b) = value else { throw mismatch(key, "bool", value) }
        return b
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        contains(key) ? try bool(key) : fallback
    }

    public func array(_ key: String) throws -> GGUFArray {
        let value = try require(key)
        guard case .array(let a) = value else { throw mismatch(key, "an array", value) }
        return a
    }

    public func stringArray(_ key: String) throws -> [String] {
        let value = try require(key)
        guard case .array(.string(let strings)) = value else { throw mismatch(key, "array[string]", value) }
        return strings
    }

    /// An array of any integer type, as `[Int]`.
    public func intArray(_ key: String) throws -> [Int] {
        let value = try require(key)
        guard case .array(let a) = value, let ints = a.intValues else { throw mismatch(key, "array of integers", value) }
        return ints
    }

    /// An array of float32 or float64, as `[Float]`.
    public func floatArray(_ key: String) throws -> [Float] {
        let value = try require(key)
        switch value {
        case .array(.float32(let floats)): return floats
        case .array(.float64(let doubles)): return doubles.map(Float.init)
        default: throw mismatch(key, "array of floats", value)
        }
    }

    private func mismatch(_ key: String, _ expected: String, _ found: GGUFValue) -> GGUFError {
        .typeMismatch(key: key, expected: expected, found: found.typeName)
    }
}
