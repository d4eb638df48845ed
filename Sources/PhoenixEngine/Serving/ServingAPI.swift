import PhoenixKernels

/// The contract between the serving engine and whatever puts requests into it (the HTTP server, tests).
///
/// A request is token ids in, a stream of events out. Each of its `n` choices streams its own tokens and
/// ends with its own `finished`; the stream ends after the last choice finishes. Ending the iteration
/// early (a client that disconnects) cancels the request and frees its KV blocks at the next step.
public protocol ServingBackend: Sendable {
    /// Queues a request. Throws `ServingError` when the request can never run or the engine cannot take it now.
    func submit(_ request: ServingRequest) throws -> AsyncThrowingStream<ServingEvent, any Error>
    /// A snapshot of queue, batch and KV-cache figures.
    var statistics: ServingStatistics { get }
    /// Stops admitting requests (later submits throw `shuttingDown`) and returns when none is left running.
    func drain() async
}

/// One request as the engine sees it: already tokenized, with the prompt's special tokens resolved.
public struct ServingRequest: Sendable, Equatable {
    public var promptIDs: [Int]
    /// New tokens per choice, at least 1.
    public var maxTokens: Int = 16
    public var sampling: SamplingParameters = .greedy
    /// Generation stops when the text contains one of these; the stop string itself is not returned.
    public var stopStrings: [String] = []
    /// Independent samples of the same prompt; they share the prompt's KV blocks.
    public var n: Int = 1
    /// nil: no log-probabilities. k ≥ 0: the chosen token's log-probability and the k most likely tokens'.
    public var logprobs: Int?
    /// Keep generating after an end-of-generation token (benchmarks that need a fixed length).
    public var ignoreEOS = false

    public init(promptIDs: [Int]) { self.promptIDs = promptIDs }
}

/// What a request's stream carries.
public enum ServingEvent: Sendable, Equatable {
    /// The prompt was admitted: its length and how many of its tokens came from the prefix cache.
    case started(promptTokens: Int, cachedTokens: Int)
    /// A new token of choice `choice`. `text` is what it makes visible (empty while a character or a
    /// possible stop string is held back).
    case token(choice: Int, TokenOutput)
    /// Choice `choice` ended; `text` is any text that was held back until the end.
    case finished(choice: Int, reason: FinishReason, text: String)
}

/// One generated token with what the client may ask about it.
public struct TokenOutput: Sendable, Equatable {
    public var id: Int
    public var text: String
    /// Natural log of the token's probability under the model (before temperature and truncation); nil unless asked.
    public var logprob: Float?
    /// The most likely tokens at this step, most likely first, when log-probabilities were asked for.
    public var top: [TokenLogprob] = []

    public init(id: Int, text: String, logprob: Float? = nil, top: [TokenLogprob] = []) {
        self.id = id
        self.text = text
        self.logprob = logprob
        self.top = top
    }
}

public struct TokenLogprob: Sendable, Equatable {
    public var id: Int
    public var logprob: Float
    public init(id: Int, logprob: Float) { self.id = id; self.logprob = logprob }
}

/// Why a request was refused. Each case maps to one HTTP status in the server.
public enum ServingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bad parameters (HTTP 400).
    case invalidRequest(String)
    /// Prompt plus `max_tokens` cannot fit a sequence's context or the whole KV pool (HTTP 400).
    case promptTooLong(tokens: Int, limit: Int)
    /// The waiting queue is full (HTTP 429).
    case queueFull(limit: Int)
    /// The engine is draining before exit (HTTP 503).
    case shuttingDown

    public var description: String {
        switch self {
        case .invalidRequest(let message): message
        case .promptTooLong(let tokens, let limit):
            "the prompt has \(tokens) tokens; with max_tokens this exceeds the limit of \(limit) tokens per sequence"
        case .queueFull(let limit): "the server is busy: \(limit) requests are already waiting; retry later"
        case .shuttingDown: "the server is shutting down and takes no new requests"
        }
    }
}

/// Figures for /metrics and tests, read at one instant.
public struct ServingStatistics: Sendable, Equatable {
    public var waitingRequests = 0
    public var runningSequences = 0
    public var kvBlocksTotal = 0
    /// Blocks held by running sequences or the prefix cache (cached blocks can be evicted on demand).
    public var kvBlocksUsed = 0
    /// Blocks that only the prefix cache holds.
    public var kvBlocksCached = 0
    /// Prompt tokens looked up in the prefix cache, and how many of them were found.
    public var prefixQueriedTokens = 0
    public var prefixHitTokens = 0
    public var promptTokens = 0
    public var generatedTokens = 0
    public var preemptions = 0
    public var steps = 0

    public init() {}

    public var prefixHitRate: Double {
        prefixQueriedTokens > 0 ? Double(prefixHitTokens) / Double(prefixQueriedTokens) : 0
    }
}

/// How the serving engine divides the machine between requests.
public struct ServingConfiguration: Sendable, Equatable {
    /// Worker threads for the forward pass; 0 means every available core.
    public var threads = 0
    /// Most sequences in one step (decoding and prefilling together).
    public var maxBatch = 8
    /// Tokens a step may process: one per decoding sequence, the rest for chunks of prompts.
    public var tokenBudget = 256
    /// Positions per KV block.
    public var blockSize = 16
    /// Blocks in the pool; nil sizes the pool for `maxBatch` sequences of `contextLimit` positions.
    public var kvBlocks: Int?
    /// Most positions (prompt and output) of one sequence; nil means min(model context, 4096).
    public var contextLimit: Int?
    /// Requests that may wait for admission before new ones are refused with `queueFull`.
    public var maxWaiting = 256
    /// Reuse the KV blocks of earlier prompts that share a prefix.
    public var prefixCaching = true
    /// How the pool stores keys and values (see `KVPrecision`).
    public var kvPrecision = KVPrecision.f16

    public init() {}
}
