import Foundation
import PhoenixKernels
import PhoenixModels
import PhoenixTokenizer
import Synchronization

/// Where one generation at a time runs: the thread pool, the KV cache and the activation buffers of a
/// loaded model. Make one per concurrent generation; a second `generate` while one runs throws `busy`.
public final class GenerationContext: @unchecked Sendable {
    public let model: LoadedModel
    public let pool: ThreadPool
    /// The most positions a generation may use (prompt and output together).
    public let contextLimit: Int
    /// How the KV cache stores keys and values (see `KVPrecision`).
    public let kvPrecision: KVPrecision

    let scratch = Scratch()
    private let hidden = FloatBuffer(capacity: 0)
    private let logits: FloatBuffer
    private let running = Atomic<Bool>(false)
    /// Prompts are run in chunks of this many tokens, which bounds activation memory (about 8 MiB of
    /// scratch for the default model) without slowing the GEMM, which needs only a few dozen tokens.
    static let prefillChunk = 256

    /// `threads`: 0 or less means every available core. `contextLimit`: nil means the model's trained context.
    public init(model: LoadedModel, threads: Int = 0, contextLimit: Int? = nil, kvPrecision: KVPrecision = .f16) {
        self.model = model
        self.kvPrecision = kvPrecision
        pool = ThreadPool(threadCount: threads > 0 ? threads : ThreadPool.availableCores)
        self.contextLimit = max(1, contextLimit ?? model.network.shape.contextLength)
        logits = FloatBuffer(capacity: model.network.shape.vocabularySize)
    }

    /// Text in, events out. The work runs on its own thread; when the consumer stops listening, the
    /// generation is cancelled at the next token.
    public func generate(_ prompt: String, options: GenerateOptions = GenerateOptions())
        -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let cancelled = CancellationFlag()
        continuation.onTermination = { _ in cancelled.set() }
        let thread = Thread { [self] in
            do {
                let ids = try encode(prompt, options: options)
                _ = try run(promptIDs: ids, options: options, isCancelled: cancelled.isSet) { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
        return stream
    }

    /// The prompt's token ids, with BOS as `options` or the model's metadata say.
    public func encode(_ prompt: String, options: GenerateOptions) throws -> [Int] {
        let tokenizer = model.tokenizer
        var ids = tokenizer.encode(prompt, addSpecial: false, parseSpecial: options.parseSpecialTokens)
        if options.addBOS ?? tokenizer.addBOS, let bos = tokenizer.bosID { ids.insert(bos, at: 0) }
        return ids
    }

    /// Generates synchronously on the calling thread, reporting every event to `emit`.
    public func run(promptIDs: [Int], options: GenerateOptions, isCancelled: () -> Bool = { false },
                    emit: (GenerationEvent) -> Void) throws -> GenerationResult {
        try options.validate()
        guard !promptIDs.isEmpty else { throw EngineError.emptyPrompt }
        guard promptIDs.count < contextLimit else {
            throw EngineError.promptTooLong(tokens: promptIDs.count, context: contextLimit)
        }
        return try exclusively { try generate(promptIDs: promptIDs, options: options, isCancelled: isCancelled, emit: emit) }
    }

    /// Runs `body` unless another generation is running in this context.
    func exclusively<T>(_ body: () throws -> T) throws -> T {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw EngineError.busy
        }
        defer { running.store(false, ordering: .releasing) }
        return try body()
    }

    private func generate(promptIDs: [Int], options: GenerateOptions, isCancelled: () -> Bool,
                          emit: (GenerationEvent) -> Void) throws -> GenerationResult {
        let network = model.network
        let cache = KVCache(shape: network.shape, capacity: min(contextLimit, promptIDs.count + options.maxTokens),
                            precision: kvPrecision)
        var sampler = Sampler(options.sampling)
        var text = GeneratedText(model.tokenizer, stops: options.stopStrings)
        var timings = GenerationTimings(promptTokens: promptIDs.count)
        var history = promptIDs
        var generated: [Int] = []
        var reason = FinishReason.length

        let prefillStart = DispatchTime.now()
        var chunkStart = 0
        while chunkStart < promptIDs.count {
            let chunk = promptIDs[chunkStart..<min(promptIDs.count, chunkStart + Self.prefillChunk)]
            let last = chunk.endIndex == promptIDs.count
            try network.forward(chunk, cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: last ? 1 : 0,
                                decoding: false)
            chunkStart = chunk.endIndex
        }
        timings.prefillSeconds = Self.seconds(since: prefillStart)

        var firstTokenTime: DispatchTime?
        while true {
            network.logits(hidden.pointer, rows: 1, pool: pool, into: logits.pointer)
            let token = sampler.sample(UnsafeMutableBufferPointer(start: logits.pointer, count: network.shape.vocabularySize),
                                       history: history)
            generated.append(token)
            history.append(token)
            timings.generatedTokens = generated.count
            if firstTokenTime == nil { firstTokenTime = DispatchTime.now() }
            if model.endOfGenerationIDs.contains(token) {
                reason = .endOfGeneration
                emit(.token(id: token, text: text.finish()))  // held-back text was not a stop string
                break
            }
            let visible = try text.append(token)
            emit(.token(id: token, text: visible.text))
            if visible.stopped {
                reason = .stopString
                break
            }
            if generated.count >= options.maxTokens { reason = .length; break }
            if history.count >= contextLimit { reason = .contextFull; break }  // prompt and output fill the context
            if isCancelled() { reason = .cancelled; break }
            try network.forward(history[(history.count - 1)...], cache: cache, scratch: scratch, pool: pool,
                                hidden: hidden, outputRows: 1, decoding: true)
        }
        timings.decodeSeconds = firstTokenTime.map(Self.seconds(since:)) ?? 0
        if reason != .endOfGeneration && reason != .stopString {
            let rest = text.finish()
            if !rest.isEmpty { emit(.text(rest)) }
        }
        emit(.finished(reason, timings))
        return GenerationResult(promptIDs: promptIDs, tokens: generated, text: text.emitted, finishReason: reason,
                                timings: timings)
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// A flag set from any thread (a stream's termination handler) and read by the generating thread.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    func isSet() -> Bool { value.load(ordering: .acquiring) }
}
