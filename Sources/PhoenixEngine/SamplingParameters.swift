/// How the next token is chosen from the logits. The defaults are greedy decoding.
///
/// The order of operations follows llama.cpp's default sampler chain: penalties over the recent history,
/// then top-k, top-p, min-p, temperature, and a draw from the remaining distribution.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// 0 means greedy: always the most likely token.
    public var temperature: Float = 0
    /// Keep the k most likely tokens; 0 keeps all.
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches p; 1 keeps all.
    public var topP: Float = 1
    /// Drop tokens less likely than minP times the most likely one; 0 keeps all.
    public var minP: Float = 0
    /// Divides positive logits (multiplies negative ones) of tokens seen in the penalty window; 1 is off.
    public var repetitionPenalty: Float = 1
    /// Subtracted once from the logit of every token seen in the window (OpenAI's presence penalty).
    public var presencePenalty: Float = 0
    /// Subtracted per occurrence in the window (OpenAI's frequency penalty).
    public var frequencyPenalty: Float = 0
    /// How many recent tokens the penalties look at.
    public var penaltyWindow: Int = 64
    /// Makes sampling reproducible; nil draws a seed from the system.
    public var seed: UInt64?

    public init() {}

    public static let greedy = SamplingParameters()

    public var isGreedy: Bool { temperature == 0 }

    /// Rejects values outside their meaningful range, naming the parameter.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw EngineError.invalidParameter(message) }
        }
        try check(temperature.isFinite && temperature >= 0, "temperature must be a finite number >= 0, got \(temperature)")
        try check(topK >= 0, "top-k must be >= 0, got \(topK)")
        try check(topP > 0 && topP <= 1, "top-p must be in (0, 1], got \(topP)")
        try check(minP >= 0 && minP <= 1, "min-p must be in [0, 1], got \(minP)")
        try check(repetitionPenalty.isFinite && repetitionPenalty > 0, "repetition penalty must be > 0, got \(repetitionPenalty)")
        try check(presencePenalty.isFinite && abs(presencePenalty) <= 2, "presence penalty must be in [-2, 2], got \(presencePenalty)")
        try check(frequencyPenalty.isFinite && abs(frequencyPenalty) <= 2, "frequency penalty must be in [-2, 2], got \(frequencyPenalty)")
        try check(penaltyWindow >= 0, "penalty window must be >= 0, got \(penaltyWindow)")
    }
}
