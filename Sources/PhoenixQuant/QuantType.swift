/// The tensor formats Phoenix reads and writes. Raw values are GGUF/ggml type ids: part of the file
/// format, never renumbered.
public enum QuantType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1
    case q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq4_NL = 20, iq4_XS = 23
    case bf16 = 30
    case mxfp4 = 39

    public var description: String { traits.name }

    /// Looks a format up by the name GGUF tools print (`Q4_K`, `q4_k`, `F32` ...), case-insensitively.
    public init?(name: String) {
        guard let found = QuantType.allCases.first(where: { $0.traits.name.lowercased() == name.lowercased() })
        else { return nil }
        self = found
    }
}

/// What every format shares: how many weights one block holds and how many bytes it takes.
public struct QuantTraits: Sendable, Equatable {
    public var name: String
    public var weightsPerBlock: Int
    public var bytesPerBlock: Int
}

extension QuantType {
    /// One exhaustive switch: a new format without traits does not compile.
    /// Sizes follow ggml's `type_traits` (ggml.c) and gguf-py's `GGML_QUANT_SIZES`.
    public var traits: QuantTraits {
        switch self {
        case .f32: QuantTraits(name: "F32", weightsPerBlock: 1, bytesPerBlock: 4)
        case .f16: QuantTraits(name: "F16", weightsPerBlock: 1, bytesPerBlock: 2)
        case .bf16: QuantTraits(name: "BF16", weightsPerBlock: 1, bytesPerBlock: 2)
        case .q4_0: QuantTraits(name: "Q4_0", weightsPerBlock: 32, bytesPerBlock: 18)
        case .q4_1: QuantTraits(name: "Q4_1", weightsPerBlock: 32, bytesPerBlock: 20)
        case .q5_0: QuantTraits(name: "Q5_0", weightsPerBlock: 32, bytesPerBlock: 22)
        case .q5_1: QuantTraits(name: "Q5_1", weightsPerBlock: 32, bytesPerBlock: 24)
        case .q8_0: QuantTraits(name: "Q8_0", weightsPerBlock: 32, bytesPerBlock: 34)
        case .q2_K: QuantTraits(name: "Q2_K", weightsPerBlock: 256, bytesPerBlock: 84)
        case .q3_K: QuantTraits(name: "Q3_K", weightsPerBlock: 256, bytesPerBlock: 110)
        case .q4_K: QuantTraits(name: "Q4_K", weightsPerBlock: 256, bytesPerBlock: 144)
        case .q5_K: QuantTraits(name: "Q5_K", weightsPerBlock: 256, bytesPerBlock: 176)
        case .q6_K: QuantTraits(name: "Q6_K", weightsPerBlock: 256, bytesPerBlock: 210)
        case .q8_K: QuantTraits(name: "Q8_K", weightsPerBlock: 256, bytesPerBlock: 292)
        case .iq4_NL: QuantTraits(name: "IQ4_NL", weightsPerBlock: 32, bytesPerBlock: 18)
        case .iq4_XS: QuantTraits(name: "IQ4_XS", weightsPerBlock: 256, bytesPerBlock: 136)
        case .mxfp4: QuantTraits(name: "MXFP4", weightsPerBlock: 32, bytesPerBlock: 17)
        }
    }

    /// Bytes taken by `count` weights, or nil when `count` is not a whole number of blocks or the
    /// product overflows (both are errors in a file, never traps).
    public func byteCount(forWeights count: Int) -> Int? {
        let t = traits
        guard count >= 0, count % t.weightsPerBlock == 0 else { return nil }
        let (bytes, overflow) = (count / t.weightsPerBlock).multipliedReportingOverflow(by: t.bytesPerBlock)
        return overflow ? nil : bytes
    }
}
