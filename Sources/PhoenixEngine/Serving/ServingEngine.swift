import Foundation
import PhoenixKernels
import PhoenixModels

/// Continuous batching on one loaded model: many requests share each forward pass, their keys and
/// values live in one paged pool, and prompts that share a prefix share its blocks.
///
/// One thread runs the step loop (schedule, one batched forward pass, sample, stream); `submit` and the
/// statistics may be used from any thread. Each request is computed exactly as it would be alone (the
/// forward pass and the logits are batch-invariant), so batching changes speed, never results.
public final class ServingEngine: ServingBackend, @unchecked Sendable {
    public let model: LoadedModel
    public let configuration: ServingConfiguration
    /// Positions one sequence may use, prompt and output together.
    public let contextLimit: Int
    public let blockCount: Int
    private let loop: StepLoop

    public init(model: LoadedModel, configuration: ServingConfiguration = ServingConfiguration()) throws {
        let shape = model.network.shape
        let c = configuration
        guard c.maxBatch >= 1, c.blockSize >= 1, c.maxWaiting >= 0 else {
            throw ServingError.invalidRequest("max batch and block size must be at least 1, max waiting at least 0")
        }
        guard c.tokenBudget >= c.maxBatch else {
            throw ServingError.invalidRequest("the token budget (\(c.tokenBudget)) must be at least the max batch (\(c.maxBatch))")
        }
        contextLimit = min(c.contextLimit ?? min(shape.contextLength, 4096), shape.contextLength)
        guard contextLimit >= 2 else { throw ServingError.invalidRequest("the context must hold at least 2 tokens") }
        let blocksPerSequence = (contextLimit + c.blockSize - 1) / c.blockSize
        // By default: room for max-batch sequences of 1,024 positions, and always for one full context.
        blockCount = c.kvBlocks ?? max(blocksPerSequence, c.maxBatch * ((1024 + c.blockSize - 1) / c.blockSize))
        guard blockCount >= blocksPerSequence else {
            throw ServingError.invalidRequest(
                "\(blockCount) KV blocks of \(c.blockSize) cannot hold one sequence of \(contextLimit) positions; "
                + "raise the block count or lower the context")
        }
        self.model = model
        self.configuration = c
        loop = StepLoop(model: model, configuration: c, contextLimit: contextLimit, blockCount: blockCount)
        loop.start()
    }

    deinit { loop.stop() }

    public func submit(_ request: ServingRequest) throws -> AsyncThrowingStream<ServingEvent, any Error> {
        try validate(request)
        return try loop.submit(request)
    }

    public var statistics: ServingStatistics { loop.statistics }

    public func drain() async {
        loop.beginDraining()
        while !loop.isIdle { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Stops the step loop; requests still running end with `shuttingDown`. Also done on deinit.
    public func stop() { loop.stop() }

    /// Bytes of the KV pool.
    public var kvCacheBytes: Int {
        PagedKVCache.byteCount(shape: model.network.shape, blockCount: blockCount, blockSize: configuration.blockSize,
                               precision: configuration.kvPrecision)
    }

    private func validate(_ request: ServingRequest) throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ServingError.invalidRequest(message()) }
        }
        let vocabulary = model.network.shape.vocabularySize
        try check(!request.promptIDs.isEmpty, "the prompt is empty")
        if let bad = request.promptIDs.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw ServingError.invalidRequest("token id \(bad) is outside the vocabulary of \(vocabulary)")
        }
        try check(request.maxTokens >= 1, "max_tokens must be at least 1, got \(request.maxTokens)")
        try check(request.n >= 1 && request.n <= configuration.maxBatch,
                  "n must be between 1 and the server's max batch (\(configuration.maxBatch)), got \(request.n)")
        try check((request.logprobs ?? 0) >= 0 && (request.logprobs ?? 0) <= 20,
                  "logprobs must be between 0 and 20, got \(request.logprobs ?? 0)")
        try check(!request.stopStrings.contains(""), "a stop string is empty")
        do { try request.sampling.validate() } catch let error as EngineError {
            throw ServingError.invalidRequest(error.description)
        }
        guard request.promptIDs.count + request.maxTokens <= contextLimit else {
            throw ServingError.promptTooLong(tokens: request.promptIDs.count, limit: contextLimit)
        }
    }
}
