import Foundation
import PhoenixKernels
import PhoenixModels
import PhoenixTokenizer

/// The serving engine's thread and everything it owns. Requests and cancellations arrive through an
/// inbox guarded by `condition`; everything else is touched by the loop's thread alone.
final class StepLoop: @unchecked Sendable {
    // Immutable after init.
    private let model: LoadedModel
    private let configuration: ServingConfiguration
    private let contextLimit: Int

    // Shared with other threads, under `condition`.
    private let condition = NSCondition()
    private var inbox: [ActiveRequest] = []
    private var cancelled: Set<Int> = []
    /// Requests submitted and not yet admitted to a step (for the queue limit).
    private var queued = 0
    /// Requests submitted and not yet finished.
    private var active = 0
    private var draining = false
    private var stopping = false
    private var nextRequestID = 0
    private var snapshot = ServingStatistics()
    private var thread: Thread?

    // The loop's own.
    private let scheduler: Scheduler
    private let cache: PagedKVCache
    private let pool: ThreadPool
    private let scratch = Scratch()
    private let hidden = FloatBuffer(capacity: 0)
    private let logits = FloatBuffer(capacity: 0)
    private var requests: [Int: ActiveRequest] = [:]
    /// Which request and choice each running sequence belongs to.
    private var owners: [Int: (request: ActiveRequest, choice: Int)] = [:]
    private var nextSequenceID = 0
    private var totals = ServingStatistics()

    init(model: LoadedModel, configuration: ServingConfiguration, contextLimit: Int, blockCount: Int) {
        self.model = model
        self.configuration = configuration
        self.contextLimit = contextLimit
        scheduler = Scheduler(blocks: blockCount, blockSize: configuration.blockSize, maxBatch: configuration.maxBatch,
                              tokenBudget: configuration.tokenBudget, prefixCaching: configuration.prefixCaching)
        cache = PagedKVCache(shape: model.network.shape, blockCount: blockCount, blockSize: configuration.blockSize,
                             precision: configuration.kvPrecision)
        pool = ThreadPool(threadCount: configuration.threads > 0 ? configuration.threads : ThreadPool.availableCores)
        snapshot.kvBlocksTotal = blockCount
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.stackSize = 8 << 20
        thread.name = "phoenix-serving"
        self.thread = thread
        thread.start()
    }

    // MARK: - From any thread

    func submit(_ request: ServingRequest) throws -> AsyncThrowingStream<ServingEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ServingEvent, any Error>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        if draining || stopping { throw ServingError.shuttingDown }
        guard queued < configuration.maxWaiting else { throw ServingError.queueFull(limit: configuration.maxWaiting) }
        let id = nextRequestID
        nextRequestID += 1
        queued += 1
        active += 1
        inbox.append(ActiveRequest(id: id, request: request, continuation: continuation, tokenizer: model.tokenizer))
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        condition.signal()
        return stream
    }

    private func cancel(_ id: Int) {
        condition.lock()
        cancelled.insert(id)
        condition.signal()
        condition.unlock()
    }

    var statistics: ServingStatistics {
        condition.lock()
        defer { condition.unlock() }
        var s = snapshot
        s.waitingRequests = queued
        return s
    }

    func beginDraining() {
        condition.lock()
        draining = true
        condition.unlock()
    }

    var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return active == 0
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    // MARK: - The loop's thread

    private func run() {
        while true {
            condition.lock()
            while inbox.isEmpty && cancelled.isEmpty && !stopping && scheduler.running.isEmpty && scheduler.waiting.isEmpty {
                condition.wait()
            }
            let arrivals = inbox, cancellations = cancelled, stop = stopping
            inbox = []
            cancelled = []
            condition.unlock()

            for request in arrivals { admit(request) }
            for id in cancellations { if let request = requests[id] { end(request, reason: .cancelled) } }
            if stop {
                for request in Array(requests.values) { fail(request, ServingError.shuttingDown) }
                return
            }
            step()
            publishStatistics()
        }
    }

    private func admit(_ active: ActiveRequest) {
        requests[active.id] = active
        let sequence = ScheduledSequence(id: newSequenceID(), tokens: active.request.promptIDs, width: active.request.n)
        active.attach(sequence, choice: 0)
        owners[sequence.id] = (active, 0)
        scheduler.enqueue(sequence)
    }

    private func newSequenceID() -> Int {
        defer { nextSequenceID += 1 }
        return nextSequenceID
    }

    private func step() {
        let plan = scheduler.schedule()
        guard !plan.work.isEmpty else { return }
        for copy in plan.copies { cache.copyBlock(copy.source, to: copy.destination, positions: copy.positions) }
        var forward = ForwardStep()
        for work in plan.work {
            let sequence = work.sequence
            forward.append(sequence.tokens[work.positions], start: work.positions.lowerBound,
                           blockTable: sequence.blocks.map { Int32($0) }, wantsOutput: work.wantsOutput,
                           decodeFrom: sequence.promptCount)
            if let owner = owners[sequence.id], !owner.request.admitted {
                owner.request.admitted = true
                totals.promptTokens += sequence.promptCount
                condition.lock(); queued -= 1; condition.unlock()
            }
        }
        let network = model.network
        do {
            try network.forward(forward, cache: cache, scratch: scratch, pool: pool, hidden: hidden)
        } catch {
            for work in plan.work { if let owner = owners[work.sequence.id] { fail(owner.request, error) } }
            return
        }
        scheduler.didRun(plan)
        totals.steps += 1
        let outputs = plan.work.filter(\.wantsOutput)
        guard !outputs.isEmpty else { return }
        let vocabulary = network.shape.vocabularySize
        logits.reserve(outputs.count * vocabulary)
        network.logits(hidden.pointer, rows: outputs.count, decoding: true, pool: pool, into: logits.pointer)
        for (row, work) in outputs.enumerated() {
            // An earlier output of this step may have ended the request (a stop on another choice does not,
            // but a failure does), so look the owner up again.
            guard let owner = owners[work.sequence.id] else { continue }
            let row = UnsafeMutableBufferPointer(start: logits.pointer + row * vocabulary, count: vocabulary)
            produce(owner.request, choice: owner.choice, sequence: work.sequence, logits: row)
        }
    }

    /// Samples the next token of one sequence (of every choice, when the prompt has just been read for
    /// n > 1) and streams it.
    private func produce(_ request: ActiveRequest, choice: Int, sequence: ScheduledSequence,
                         logits: UnsafeMutableBufferPointer<Float>) {
        if !request.started {
            request.started = true
            request.continuation.yield(.started(promptTokens: sequence.promptCount,
                                                cachedTokens: sequence.cachedPromptTokens ?? 0))
        }
        var targets = [(choice, sequence)]
        if request.request.n > 1, !request.forked {
            request.forked = true
            let children = scheduler.fork(sequence, count: request.request.n - 1,
                                          ids: (0..<request.request.n - 1).map { _ in newSequenceID() })
            for (index, child) in children.enumerated() {
                request.attach(child, choice: index + 1)
                owners[child.id] = (request, index + 1)
                targets.append((index + 1, child))
            }
        }
        // Samplers change the logits they read, so every choice but the last gets its own copy.
        let shared = targets.count > 1 ? Array(logits) : []
        for (index, (choice, sequence)) in targets.enumerated() {
            if index > 0 { _ = shared.withUnsafeBufferPointer { logits.update(fromContentsOf: $0) } }
            produceOne(request, choice: choice, sequence: sequence, logits: logits)
        }
    }

    private func produceOne(_ request: ActiveRequest, choice: Int, sequence: ScheduledSequence,
                            logits: UnsafeMutableBufferPointer<Float>) {
        let options = request.request
        var logprob: Float?, top: [TokenLogprob] = []
        let table = options.logprobs.map { _ in LogprobTable(UnsafeBufferPointer(logits)) }
        let token = request.samplers[choice].sample(logits, history: sequence.tokens)
        if let table, let count = options.logprobs {
            logprob = table.logprob(token)
            top = table.top(count)
        }
        scheduler.append(token, to: sequence)
        totals.generatedTokens += 1
        request.generated[choice] += 1
        if model.endOfGenerationIDs.contains(token) && !options.ignoreEOS {
            finish(request, choice: choice, reason: .endOfGeneration)
            return
        }
        let visible: (text: String, stopped: Bool)
        do { visible = try request.texts[choice].append(token) } catch {
            fail(request, error)
            return
        }
        request.continuation.yield(.token(choice: choice, TokenOutput(id: token, text: visible.text, logprob: logprob, top: top)))
        if visible.stopped {
            finish(request, choice: choice, reason: .stopString)
        } else if request.generated[choice] >= options.maxTokens {
            finish(request, choice: choice, reason: .length)
        } else if sequence.tokens.count >= contextLimit {
            finish(request, choice: choice, reason: .contextFull)
        }
    }

    private func finish(_ request: ActiveRequest, choice: Int, reason: FinishReason) {
        guard let sequence = request.sequences[choice] else { return }
        let rest = reason == .stopString ? "" : request.texts[choice].finish()
        request.continuation.yield(.finished(choice: choice, reason: reason, text: rest))
        release(sequence, of: request, choice: choice)
        if request.isDone { close(request, error: nil) }
    }

    /// Ends every choice still running (a cancelled request).
    private func end(_ request: ActiveRequest, reason: FinishReason) {
        for choice in request.sequences.indices where request.sequences[choice] != nil {
            finish(request, choice: choice, reason: reason)
        }
        if requests[request.id] != nil { close(request, error: nil) }
    }

    private func fail(_ request: ActiveRequest, _ error: any Error) {
        for choice in request.sequences.indices {
            if let sequence = request.sequences[choice] { release(sequence, of: request, choice: choice) }
        }
        close(request, error: error)
    }

    private func release(_ sequence: ScheduledSequence, of request: ActiveRequest, choice: Int) {
        scheduler.finish(sequence)
        owners[sequence.id] = nil
        request.sequences[choice] = nil
    }

    private func close(_ request: ActiveRequest, error: (any Error)?) {
        guard requests.removeValue(forKey: request.id) != nil else { return }
        request.continuation.finish(throwing: error)
        condition.lock()
        if !request.admitted { queued -= 1 }
        active -= 1
        condition.unlock()
    }

    private func publishStatistics() {
        var s = totals
        s.runningSequences = scheduler.running.count
        s.kvBlocksTotal = scheduler.pool.capacity
        s.kvBlocksUsed = scheduler.pool.usedCount
        s.kvBlocksCached = scheduler.prefixCache?.blocksHeldOnlyByCache(scheduler.pool) ?? 0
        s.prefixQueriedTokens = scheduler.prefixCache?.queriedTokens ?? 0
        s.prefixHitTokens = scheduler.prefixCache?.hitTokens ?? 0
        s.preemptions = scheduler.preemptionCount
        condition.lock()
        snapshot = s
        condition.unlock()
    }
}

/// A request inside the loop: its stream, and per choice its sequence, sampler and text.
final class ActiveRequest {
    let id: Int
    let request: ServingRequest
    let continuation: AsyncThrowingStream<ServingEvent, any Error>.Continuation
    var sequences: [ScheduledSequence?]
    var samplers: [Sampler]
    var texts: [GeneratedText]
    var generated: [Int]
    var admitted = false
    var started = false
    var forked = false

    init(id: Int, request: ServingRequest, continuation: AsyncThrowingStream<ServingEvent, any Error>.Continuation,
         tokenizer: Tokenizer) {
        self.id = id
        self.request = request
        self.continuation = continuation
        sequences = Array(repeating: nil, count: request.n)
        // Each choice draws from its own generator: seed, seed+1, … when a seed is given.
        samplers = (0..<request.n).map { choice in
            var parameters = request.sampling
            parameters.seed = request.sampling.seed.map { $0 &+ UInt64(choice) }
            return Sampler(parameters)
        }
        texts = Array(repeating: GeneratedText(tokenizer, stops: request.stopStrings), count: request.n)
        generated = Array(repeating: 0, count: request.n)
    }

    func attach(_ sequence: ScheduledSequence, choice: Int) { sequences[choice] = sequence }

    /// Every choice has finished.
    var isDone: Bool { forkedOrSingle && sequences.allSatisfy { $0 == nil } }
    private var forkedOrSingle: Bool { forked || request.n == 1 }
}
