import Foundation

/// PhoenixPlanner/TrainingPlanner.swift. Step time and memory of one training configuration, and the search
/// over tensor / pipeline / data / context parallel sizes, microbatch, recomputation and ZeRO stage.

/// How the work is split: tp x cp x dp x pp = gpus, ranks ordered tensor-parallel innermost (Megatron-LM).
public struct ParallelConfig: Sendable, Equatable, Hashable, Codable {
    public var tp = 1, pp = 1, dp = 1, cp = 1, microbatch = 1
    public var schedule: PipelineScheduleKind = .oneFOneB
    public var virtualStages = 1
    public var recompute: Recompute = .none
    public var sequenceParallel = false
    public var zeroStage = 0
    public var offloadOptimizer = false
    public init(tp: Int = 1, pp: Int = 1, dp: Int = 1, cp: Int = 1, microbatch: Int = 1,
                schedule: PipelineScheduleKind = .oneFOneB, virtualStages: Int = 1, recompute: Recompute = .none,
                sequenceParallel: Bool = false, zeroStage: Int = 0, offloadOptimizer: Bool = false) {
        self.tp = tp; self.pp = pp; self.dp = dp; self.cp = cp; self.microbatch = microbatch
        self.schedule = schedule; self.virtualStages = virtualStages; self.recompute = recompute
        self.sequenceParallel = sequenceParallel; self.zeroStage = zeroStage; self.offloadOptimizer = offloadOptimizer
    }
}

/// The constants the cost model cannot derive. Approximate by nature; docs/planner.md says where each comes from.
public struct PlannerAssumptions: Sendable, Equatable {
    /// Fraction of peak FLOP/s a transformer-sized GEMM reaches.
    public var gemmEfficiency = 0.50
    /// Fraction of link bandwidth a collective reaches (NCCL bus bandwidth over the link rate).
    public var linkEfficiency = 0.80
    /// Fraction of device memory a run may fill (allocator fragmentation, CUDA context, workspaces).
    public var usableMemoryFraction = 0.95
    public init() {}
}

/// What to train, on what.
public struct TrainingJob: Sendable, Equatable {
    public var shape: TransformerShape
    public var hardware: PlannerHardware
    public var gpus: Int
    public var globalBatch: Int
    public var precision = "bf16"
    /// Fused attention that never stores the s x s scores (FlashAttention); off reproduces 2021-2022 runs.
    public var flashAttention = true
    public init(shape: TransformerShape, hardware: PlannerHardware, gpus: Int, globalBatch: Int,
                precision: String = "bf16", flashAttention: Bool = true) {
        self.shape = shape; self.hardware = hardware; self.gpus = gpus; self.globalBatch = globalBatch
        self.precision = precision; self.flashAttention = flashAttention
    }
}

/// Per-GPU memory, in bytes.
public struct MemoryBreakdown: Sendable, Equatable, Codable {
    public var weights = 0.0, gradients = 0.0, optimizer = 0.0, activations = 0.0, kvCache = 0.0
    public var total: Double { weights + gradients + optimizer + activations + kvCache }
}

/// One configuration, costed.
public struct TrainingEstimate: Sendable, Equatable {
    public var config: ParallelConfig
    public var microbatchCount: Int
    public var stepSeconds: Double
    public var pipelineSeconds: Double
    public var dataParallelSeconds: Double
    public var optimizerSeconds: Double
    public var stageTimes: StageTimes
    public var bubbleRate: Double
    public var tflopsPerGPU: Double
    public var mfu: Double
    public var hfu: Double
    public var memory: MemoryBreakdown
    public var memoryLimitBytes: Double
    public var hostMemoryBytes: Double
    public var fits: Bool { memory.total <= memoryLimitBytes }
}

public enum TrainingPlanner {
    // MARK: - Validation

    /// Throws naming the field to change when `config` cannot run `job`.
    public static func validate(_ job: TrainingJob, _ c: ParallelConfig) throws {
        let s = job.shape
        for (name, value) in [("tp", c.tp), ("pp", c.pp), ("dp", c.dp), ("cp", c.cp), ("microbatch", c.microbatch),
                              ("virtual_stages", c.virtualStages)] where value < 1 {
            throw PlannerError.invalid("\(name) must be at least 1, got \(value)")
        }
        guard c.tp * c.pp * c.dp * c.cp == job.gpus else {
            throw PlannerError.invalid("tp x pp x dp x cp = \(c.tp) x \(c.pp) x \(c.dp) x \(c.cp) = \(c.tp * c.pp * c.dp * c.cp), but gpus is \(job.gpus); change one so the product equals the GPU count")
        }
        guard s.headCount % c.tp == 0 else {
            throw PlannerError.invalid("tp = \(c.tp) does not divide heads = \(s.headCount); use a tp that divides it")
        }
        guard s.kvHeadCount % c.tp == 0 || c.tp % s.kvHeadCount == 0 else {
            throw PlannerError.invalid("tp = \(c.tp) and kv_heads = \(s.kvHeadCount) do not divide one another; use a tp that divides kv_heads")
        }
        guard c.pp <= s.layerCount else {
            throw PlannerError.invalid("pp = \(c.pp) is larger than layers = \(s.layerCount); use pp <= \(s.layerCount)")
        }
        let chunks = c.schedule.chunksPerDevice(virtualStages: c.virtualStages)
        guard s.layerCount % (c.pp * chunks) == 0 else {
            throw PlannerError.invalid("layers = \(s.layerCount) cannot be split evenly into pp x chunks = \(c.pp) x \(chunks); pick pp (and virtual_stages) dividing the layer count")
        }
        guard s.contextLength % c.cp == 0 else {
            throw PlannerError.invalid("cp = \(c.cp) does not divide seq_len = \(s.contextLength)")
        }
        guard job.globalBatch % (c.dp * c.microbatch) == 0 else {
            throw PlannerError.invalid("global_batch = \(job.globalBatch) is not a multiple of dp x microbatch = \(c.dp) x \(c.microbatch)")
        }
        guard (0...3).contains(c.zeroStage) else { throw PlannerError.invalid("zero_stage must be 0, 1, 2 or 3, got \(c.zeroStage)") }
        guard c.tp <= job.hardware.scaleUp.domain else {
            throw PlannerError.invalid("tp = \(c.tp) spans more than one \(job.hardware.name) node (\(job.hardware.scaleUp.domain) GPUs); keep tp <= \(job.hardware.scaleUp.domain)")
        }
        let m = job.globalBatch / (c.dp * c.microbatch)
        if c.schedule == .interleaved, m % c.pp != 0 {
            throw PlannerError.invalid("interleaved-1f1b needs microbatches per replica (\(m)) to be a multiple of pp (\(c.pp))")
        }
        if c.schedule == .chimera, c.pp % 2 != 0 || m % 2 != 0 {
            throw PlannerError.invalid("chimera needs even pp and an even number of microbatches (pp = \(c.pp), microbatches = \(m))")
        }
    }

    // MARK: - Cost of one configuration

    /// Step time, throughput and memory of `config`. Throws if the configuration is invalid (not if it
    /// does not fit: `fits` says that).
    public static func evaluate(_ job: TrainingJob, _ c: ParallelConfig,
                                assumptions a: PlannerAssumptions = .init()) throws -> TrainingEstimate {
        try validate(job, c)
        let s = job.shape, hw = job.hardware
        let peak = try hw.peakFlopsPerSecond(job.precision)
        let gemmRate = peak * a.gemmEfficiency, hbm = hw.memoryBandwidthBytesPerSecond
        let seq = Double(s.contextLength), h = Double(s.embeddingDim)
        let localSeq = s.contextLength / c.cp
        let tokens = Double(c.microbatch) * seq / Double(c.cp)           // per GPU per microbatch
        let layersPerStage = Double(s.layerCount / c.pp)
        let split = Double(c.tp)

        // One layer, one microbatch, one GPU: matmuls (projections + FFN) and the attention core.
        let attentionCore = 4 * tokens * seq * h / split                // QK^T and PV over the full square
        let projections = s.layerForwardFlops(tokens: tokens, seq: seq) / split - attentionCore
        // Elementwise work (norms, activations, dropout, softmax) is memory bound: each stored byte is
        // written once and read once in the forward pass, twice as much in the backward.
        let stored = ActivationMemory.perLayerBytes(s, microbatch: c.microbatch, sequenceLength: localSeq,
                                                    tensorParallel: c.tp, sequenceParallel: c.sequenceParallel,
                                                    recompute: .none, flashAttention: job.flashAttention)
        let elementwise = 2 * stored / hbm
        // Tensor parallelism: two all-reduces per layer forward, two backward (with sequence parallelism,
        // reduce-scatter + all-gather of the same volume).
        let activationBytes = tokens * h * 2
        let tpAllReduce = CollectiveCost.onTopology(.allReduce, bytes: activationBytes, ranks: c.tp, stride: 1,
                                                    hardware: hw, linkEfficiency: a.linkEfficiency)
        // Context parallelism: ring attention passes K and V around cp ranks, overlapped with the attention core.
        let kvBytes = 2 * tokens * Double(s.kvDim) * 2 / split
        let ringStep = CollectiveCost.onTopology(.broadcast, bytes: kvBytes, ranks: 2, stride: c.tp,
                                                 hardware: hw, linkEfficiency: a.linkEfficiency)
        let cpExposed = c.cp > 1 ? max(0, Double(c.cp - 1) * ringStep - attentionCore / gemmRate) : 0

        let forwardLayer = (projections + attentionCore) / gemmRate + elementwise + 2 * tpAllReduce + cpExposed
        let recomputeLayer: Double = switch c.recompute {
        case .none: 0
        case .selective: 3 * attentionCore / gemmRate        // the paper's 12 b s^2 h against 4 b s^2 h forward
        case .full: forwardLayer
        }
        let backwardInputLayer = (projections / 2 + 2 * attentionCore) / gemmRate + elementwise
            + 2 * tpAllReduce + 2 * cpExposed + recomputeLayer
        let backwardWeightLayer = (projections / 2) / gemmRate + elementwise
        // The output layer (2 b s h V forward) is spread evenly over the stages.
        let logits = s.logitFlops(tokens: tokens) / split / gemmRate / Double(c.pp)
        let stageBoundary = c.tp * c.cp * c.dp
        let p2pLink = stageBoundary >= hw.scaleUp.domain ? hw.scaleOut : hw.scaleUp
        let p2p = c.pp > 1 ? p2pLink.latencySeconds + activationBytes / split / (p2pLink.bandwidthBytesPerSecond * a.linkEfficiency) : 0
        let times = StageTimes(forward: layersPerStage * forwardLayer + logits,
                               backwardInput: layersPerStage * backwardInputLayer + logits,
                               backwardWeight: layersPerStage * backwardWeightLayer + logits,
                               communication: p2p)

        // Pipeline: generate the timeline (long runs are simulated at a smaller microbatch count and the
        // steady state extended: the bubble of these schedules does not grow with m).
        let m = job.globalBatch / (c.dp * c.microbatch)
        let (pipelineSeconds, bubble, peakUnits) = try pipeline(c, microbatches: m, times: times)

        // Data parallelism: gradients reduced once per step (ZeRO-2/3: reduce-scatter + all-gather of the
        // same volume); ZeRO-3 also gathers weights before each microbatch's forward and backward.
        let parameters = parametersPerGPU(s, c)
        let replicas = c.dp * c.cp
        let gradSync = CollectiveCost.onTopology(.allReduce, bytes: parameters * 2, ranks: replicas, stride: c.tp,
                                                 hardware: hw, linkEfficiency: a.linkEfficiency)
        let gather = c.zeroStage >= 3
            ? Double(2 * m) * CollectiveCost.onTopology(.allGather, bytes: parameters * 2, ranks: replicas, stride: c.tp,
                                                        hardware: hw, linkEfficiency: a.linkEfficiency)
            : 0
        let states = ModelStateBytes(parameters: parameters, dataParallel: replicas, zeroStage: c.zeroStage,
                                     offloadOptimizer: c.offloadOptimizer)
        // Adam touches weights, gradients and 12 bytes of state per parameter it owns, read and write.
        let owned = c.zeroStage >= 1 ? parameters / Double(replicas) : parameters
        let optimizerSeconds = c.offloadOptimizer
            ? owned * 4 / (hw.scaleUp.bandwidthBytesPerSecond * 0.25)    // gradients down, weights up over PCIe-class links
            : owned * 2 * (2 + 2 + 12) / hbm
        let step = pipelineSeconds + gradSync + gather + optimizerSeconds

        var memory = MemoryBreakdown()
        memory.weights = states.weights
        memory.gradients = states.gradients
        memory.optimizer = states.optimizer
        let perLayer = ActivationMemory.perLayerBytes(s, microbatch: c.microbatch, sequenceLength: localSeq,
                                                      tensorParallel: c.tp, sequenceParallel: c.sequenceParallel,
                                                      recompute: c.recompute, flashAttention: job.flashAttention)
        memory.activations = perLayer * layersPerStage * peakUnits
        if c.zeroStage >= 3 { memory.weights += parameters * 2 / Double(c.pp * s.layerCount) * 2 }  // two gathered layers

        let hardwareFlops = s.hardwareFlopsPerIteration(batch: job.globalBatch, recompute: c.recompute)
        let gpus = Double(job.gpus)
        return TrainingEstimate(
            config: c, microbatchCount: m, stepSeconds: step, pipelineSeconds: pipelineSeconds,
            dataParallelSeconds: gradSync + gather, optimizerSeconds: optimizerSeconds, stageTimes: times,
            bubbleRate: bubble, tflopsPerGPU: hardwareFlops / step / gpus / 1e12,
            mfu: Utilization.mfu(s, batch: job.globalBatch, iterationSeconds: step, gpus: job.gpus, peakFlopsPerSecond: peak),
            hfu: Utilization.hfu(s, batch: job.globalBatch, recompute: c.recompute, iterationSeconds: step,
                                 gpus: job.gpus, peakFlopsPerSecond: peak),
            memory: memory, memoryLimitBytes: hw.memoryBytes * a.usableMemoryFraction,
            hostMemoryBytes: states.offloadedToHost)
    }

    /// Parameters one GPU holds: its stage's layers split by tensor parallelism, plus the embedding
    /// (first stage) or the tied output layer (last stage), whichever stage is largest.
    public static func parametersPerGPU(_ s: TransformerShape, _ c: ParallelConfig) -> Double {
        let layers = Double(s.layerCount / c.pp) * s.parametersPerLayer
        let embedding = Double(s.vocabSize + s.contextLength) * Double(s.embeddingDim)
        return (layers + embedding) / Double(c.tp)
    }

    static func pipeline(_ c: ParallelConfig, microbatches m: Int, times: StageTimes) throws
        -> (seconds: Double, bubble: Double, peakUnits: Double) {
        let perMicrobatch = times.forward + times.backwardInput + times.backwardWeight
        guard c.pp > 1 else { return (Double(m) * perMicrobatch, 0, 1) }
        var simulated = m
        let cap = max(2 * c.pp, 16)
        if m > cap {
            let step = c.schedule == .interleaved ? c.pp : (c.schedule == .chimera ? 2 : 1)
            simulated = max(step, (cap / step) * step)
        }
        let key = "\(c.schedule.rawValue) \(c.pp) \(simulated) \(c.virtualStages) \(times.forward) \(times.backwardInput) \(times.backwardWeight) \(times.communication)"
        let timeline: (makespan: Double, peak: Double)
        if let hit = timelineCache.value(key) { timeline = hit } else {
            let t = try PipelineTimeline.generate(c.schedule, devices: c.pp, microbatches: simulated,
                                                  virtualStages: c.virtualStages, times: times)
            timeline = (t.makespan, t.peakActivationUnits)
            timelineCache.store(key, timeline)
        }
        let idle = timeline.makespan - Double(simulated) * perMicrobatch
        let seconds = Double(m) * perMicrobatch + max(0, idle)
        // Chimera keeps two replicas of every stage (two pipelines); its memory unit is per replica.
        return (seconds, max(0, idle) / seconds, timeline.peak)
    }

    /// Timelines already generated: configurations differing only in ZeRO stage share one.
    final class TimelineCache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: (makespan: Double, peak: Double)] = [:]
        func value(_ key: String) -> (makespan: Double, peak: Double)? { lock.lock(); defer { lock.unlock() }; return entries[key] }
        func store(_ key: String, _ value: (makespan: Double, peak: Double)) {
            lock.lock(); defer { lock.unlock() }
            if entries.count > 4096 { entries.removeAll() }
            entries[key] = value
        }
    }
    static let timelineCache = TimelineCache()

    // MARK: - Search

    /// Every valid configuration allowed by `fixed` (its non-nil fields are kept), costed, fastest first;
    /// those that do not fit come after all that do.
    public static func search(_ job: TrainingJob, fixed: PartialParallelConfig,
                              assumptions: PlannerAssumptions = .init()) throws -> [TrainingEstimate] {
        let g = job.gpus, s = job.shape
        guard g >= 1 else { throw PlannerError.invalid("gpus must be at least 1") }
        func divisors(_ n: Int) -> [Int] { (1...max(1, n)).filter { n % $0 == 0 } }
        // Fields the spec fixes are checked first, so the message names them.
        if let tp = fixed.tp, s.headCount % tp != 0 {
            throw PlannerError.invalid("tp = \(tp) does not divide heads = \(s.headCount); use a tp that divides it")
        }
        if let pp = fixed.pp, pp > s.layerCount {
            throw PlannerError.invalid("pp = \(pp) is larger than layers = \(s.layerCount); use pp <= \(s.layerCount)")
        }
        let fixedProduct = [fixed.tp, fixed.pp, fixed.dp, fixed.cp].compactMap { $0 }.reduce(1, *)
        let allFixed = fixed.tp != nil && fixed.pp != nil && fixed.dp != nil && fixed.cp != nil
        if allFixed ? fixedProduct != g : g % fixedProduct != 0 {
            let named = [("tp", fixed.tp), ("pp", fixed.pp), ("dp", fixed.dp), ("cp", fixed.cp)]
                .compactMap { name, v in v.map { "\(name) = \($0)" } }.joined(separator: ", ")
            throw PlannerError.invalid("\(named) multiply to \(fixedProduct), but gpus is \(g); the product of tp, pp, dp and cp must equal the GPU count")
        }
        let tps = fixed.tp.map { [$0] } ?? divisors(g).filter { $0 <= job.hardware.scaleUp.domain && s.headCount % $0 == 0 }
        let pps = fixed.pp.map { [$0] } ?? divisors(g).filter { $0 <= s.layerCount && s.layerCount % $0 == 0 }
        let cps = fixed.cp.map { [$0] } ?? [1, 2, 4, 8].filter { g % $0 == 0 && s.contextLength % $0 == 0 && s.contextLength / $0 >= 1024 || $0 == 1 }
        let mbs = fixed.microbatch.map { [$0] } ?? [1, 2, 4, 8]
        let recomputes = fixed.recompute.map { [$0] } ?? Recompute.allCases
        let zeros = fixed.zeroStage.map { [$0] } ?? [0, 1, 2, 3]
        var results: [TrainingEstimate] = []
        var firstError: (any Error)?
        for tp in tps { for pp in pps { for cp in cps {
            guard g % (tp * pp * cp) == 0 else { continue }
            let dp = g / (tp * pp * cp)
            if let fdp = fixed.dp, fdp != dp { continue }
            let schedules = fixed.schedule.map { [$0] } ?? (pp == 1 ? [.oneFOneB] : [.oneFOneB, .interleaved, .zbV])
            for schedule in schedules { for mb in mbs { for rc in recomputes { for zero in zeros {
                let c = ParallelConfig(
                    tp: tp, pp: pp, dp: dp, cp: cp, microbatch: mb, schedule: schedule,
                    virtualStages: fixed.virtualStages ?? (schedule == .interleaved ? 2 : 1), recompute: rc,
                    sequenceParallel: fixed.sequenceParallel ?? (tp > 1), zeroStage: zero,
                    offloadOptimizer: fixed.offloadOptimizer ?? false)
                do { results.append(try evaluate(job, c, assumptions: assumptions)) } catch { firstError = firstError ?? error }
            } } } }
        } } }
        if results.isEmpty {
            if let firstError { throw firstError }
            throw PlannerError.invalid("no parallel configuration of \(g) GPUs is valid for this model; check gpus, heads and layers")
        }
        return results.sorted { a, b in
            a.fits != b.fits ? a.fits : (a.fits ? a.stepSeconds < b.stepSeconds : a.memory.total < b.memory.total)
        }
    }
}

/// A `ParallelConfig` with some fields left open for the search.
public struct PartialParallelConfig: Sendable, Equatable {
    public var tp, pp, dp, cp, microbatch, virtualStages, zeroStage: Int?
    public var schedule: PipelineScheduleKind?
    public var recompute: Recompute?
    public var sequenceParallel, offloadOptimizer: Bool?
    public init() {}
    /// Every field set: the search has exactly one candidate.
    public var isComplete: Bool {
        tp != nil && pp != nil && dp != nil && cp != nil && microbatch != nil && zeroStage != nil
            && schedule != nil && recompute != nil
    }
}
