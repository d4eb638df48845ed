import Foundation
import PhoenixKernels
import PhoenixModels

/// The perplexity of a text, computed the way llama.cpp's `llama-perplexity` does by default, so the
/// two figures compare directly: the text (with BOS) is cut into non-overlapping windows of
/// `windowLength` tokens, each window's first token is replaced by BOS, and only the second half of
/// each window is scored (every token there has at least half a window of context).
public struct PerplexityResult: Sendable, Codable, Equatable {
    public var ppl: Double
    public var windows: Int
    public var scoredTokens: Int
    /// Mean negative log-likelihood per scored token, in nats.
    public var meanNLL: Double
    /// Standard error of `meanNLL` over scored tokens (as llama-perplexity reports it).
    public var standardError: Double
}

/// Progress after each window: windows done, windows in all, perplexity so far.
public typealias PerplexityProgress = (_ done: Int, _ total: Int, _ pplSoFar: Double) -> Void

extension GenerationContext {
    /// Tokenizes `text` with BOS (as the model's metadata says) and measures its perplexity.
    /// `maxWindows` scores only the first windows (llama-perplexity's `--chunks`).
    public func perplexity(of text: String, windowLength: Int, maxWindows: Int? = nil,
                           progress: PerplexityProgress = { _, _, _ in }) throws -> PerplexityResult {
        try perplexity(tokens: encode(text, options: GenerateOptions()), windowLength: windowLength,
                       maxWindows: maxWindows, progress: progress)
    }

    public func perplexity(tokens: [Int], windowLength: Int, maxWindows: Int? = nil,
                           progress: PerplexityProgress = { _, _, _ in }) throws -> PerplexityResult {
        try exclusively {
            try evaluate(tokens: tokens, windowLength: windowLength, maxWindows: maxWindows, progress: progress)
        }
    }

    private func evaluate(tokens: [Int], windowLength: Int, maxWindows: Int?, progress: PerplexityProgress)
        throws -> PerplexityResult {
        guard windowLength >= 4 else { throw EngineError.invalidParameter("the window must be at least 4 tokens, got \(windowLength)") }
        guard windowLength <= contextLimit else {
            throw EngineError.invalidParameter("the window of \(windowLength) is larger than the context of \(contextLimit)")
        }
        guard tokens.count >= 2 * windowLength else {
            throw EngineError.textTooShort(tokens: tokens.count, needed: 2 * windowLength)
        }
        let network = model.network
        let vocabulary = network.shape.vocabularySize
        if let maxWindows, maxWindows < 1 { throw EngineError.invalidParameter("the window count must be at least 1") }
        let windows = min(tokens.count / windowLength, maxWindows ?? .max)
        let first = windowLength / 2
        let scoredPerWindow = windowLength - first - 1
        let cache = KVCache(shape: network.shape, capacity: windowLength, precision: kvPrecision)
        let hidden = FloatBuffer(capacity: 0)
        let rowsPerChunk = 8
        let logits = FloatBuffer(capacity: rowsPerChunk * vocabulary)
        var nll = 0.0, nll2 = 0.0, count = 0

        for w in 0..<windows {
            var window = Array(tokens[w * windowLength..<(w + 1) * windowLength])
            if let bos = model.tokenizer.bosID, model.tokenizer.addBOS { window[0] = bos }
            cache.truncate(to: 0)
            try network.forward(window[...], cache: cache, scratch: scratch, pool: pool, hidden: hidden,
                                outputRows: windowLength - first)
            // hidden row r is position first + r, which predicts the token at first + r + 1
            var row = 0
            while row < scoredPerWindow {
                let rows = min(rowsPerChunk, scoredPerWindow - row)
                network.logits(hidden.pointer + row * network.shape.embeddingDim, rows: rows, pool: pool, into: logits.pointer)
                for r in 0..<rows {
                    let target = window[first + row + r + 1]
                    let value = -Self.logSoftmax(logits.pointer + r * vocabulary, count: vocabulary, at: target)
                    nll += value
                    nll2 += value * value
                }
                row += rows
            }
            count += scoredPerWindow
            progress(w + 1, windows, Foundation.exp(nll / Double(count)))
        }
        let mean = nll / Double(count)
        let variance = nll2 / Double(count) - mean * mean
        let standardError = count > 1 && variance > 0 ? (variance / Double(count - 1)).squareRoot() : 0
        return PerplexityResult(ppl: Foundation.exp(mean), windows: windows, scoredTokens: count, meanNLL: mean,
                                standardError: standardError)
    }

    /// log softmax(logits)[index], accumulated in double precision.
    static func logSoftmax(_ logits: UnsafePointer<Float>, count: Int, at index: Int) -> Double {
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, logits[i]) }
        var sum = 0.0
        for i in 0..<count { sum += Foundation.exp(Double(logits[i] - maximum)) }
        return Double(logits[index] - maximum) - Foundation.log(sum)
    }
}
