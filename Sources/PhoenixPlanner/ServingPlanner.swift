import Foundation

/// PhoenixPlanner/ServingPlanner.swift. Inference from the roofline: a step takes the longer of its FLOPs
/// at the GEMM rate and its bytes (weights, KV cache) at memory bandwidth, plus tensor-parallel all-reduces
/// (Pope et al. 2023, "Efficiently Scaling Transformer Inference", Section 2-3). Prefill is compute bound,
/// decode memory bound; the KV cache decides the largest batch (Kwon et al. 2023).
public struct ServingJob: Sendable, Equatable {
    public var shape: TransformerShape
    public var hardware: PlannerHardware
    public var gpus: Int
    public var promptTokens: Int
    public var outputTokens: Int
    /// Requests decoded together; nil: the largest that fits.
    public var batch: Int?
    public var weightBytesPerParameter = 2.0
    public var kvBytesPerValue = 2.0
    public var precision = "bf16"
    /// Latency targets for goodput (DistServe, Zhong et al. 2024): time to first token, time per output token.
    public var ttftTargetSeconds: Double?
    public var tpotTargetSeconds: Double?
    public init(shape: TransformerShape, hardware: PlannerHardware, gpus: Int, promptTokens: Int, outputTokens: Int,
                batch: Int? = nil) {
        self.shape = shape; self.hardware = hardware; self.gpus = gpus
        self.promptTokens = promptTokens; self.outputTokens = outputTokens; self.batch = batch
    }
}

public struct ServingEstimate: Sendable, Equatable {
    public var tp, pp, batch, maxBatch: Int
    public var ttftSeconds, tpotSeconds, tokensPerSecond: Double
    public var prefillSeconds, decodeStepSeconds, tpCommunicationSeconds: Double
    public var memory: MemoryBreakdown
    public var memoryLimitBytes: Double
    public var fits: Bool { batch >= 1 && memory.total <= memoryLimitBytes }
    /// Requests per second per GPU meeting both latency targets, colocated prefill and decode.
    public var colocatedGoodputPerGPU: Double?
    /// The same with prefill and decode on separate GPUs (the best split of this job's GPUs).
    public var disaggregatedGoodputPerGPU: Double?
    public var disaggregatedSplit: (prefill: Int, decode: Int)?

    public static func == (a: ServingEstimate, b: ServingEstimate) -> Bool {
        a.tp == b.tp && a.pp == b.pp && a.batch == b.batch && a.ttftSeconds == b.ttftSeconds && a.tpotSeconds == b.tpotSeconds
    }
}

public enum ServingPlanner {
    /// Bytes of K and V one token adds over all layers: 2 x layers x kv_heads x head_dim x bytes.
    public static func kvBytesPerToken(_ s: TransformerShape, bytesPerValue: Double) -> Double {
        2 * Double(s.layerCount) * Double(s.kvDim) * bytesPerValue
    }

    /// Cost the job at tensor-parallel size `tp` and pipeline size `pp` (tp x pp = gpus).
    public static func evaluate(_ job: ServingJob, tp: Int, pp: Int, assumptions a: PlannerAssumptions = .init()) throws -> ServingEstimate {
        let s = job.shape, hw = job.hardware
        guard tp * pp == job.gpus else {
            throw PlannerError.invalid("tp x pp = \(tp) x \(pp) = \(tp * pp), but gpus is \(job.gpus); make the product equal the GPU count")
        }
        guard s.headCount % tp == 0 else { throw PlannerError.invalid("tp = \(tp) does not divide heads = \(s.headCount)") }
        guard pp <= s.layerCount else { throw PlannerError.invalid("pp = \(pp) is larger than layers = \(s.layerCount)") }
        guard job.promptTokens >= 1, job.outputTokens >= 1 else {
            throw PlannerError.invalid("prompt_len and output_len must be at least 1")
        }
        let peak = try hw.peakFlopsPerSecond(job.precision) * a.gemmEfficiency
        let hbm = hw.memoryBandwidthBytesPerSecond
        let weightBytes = s.parameterCount * job.weightBytesPerParameter / Double(tp * pp)
        let kvPerToken = kvBytesPerToken(s, bytesPerValue: job.kvBytesPerValue) / Double(tp * pp)
        let context = job.promptTokens + job.outputTokens
        let limit = hw.memoryBytes * a.usableMemoryFraction
        // Activations of one prefill pass (a few hidden-size buffers per token) are the workspace.
        let workspace = Double(job.promptTokens) * Double(max(s.ffnDim, s.embeddingDim)) * 2 * 4 / Double(tp)
        let maxBatch = max(0, Int((limit - weightBytes - workspace) / (kvPerToken * Double(context))))
        guard maxBatch >= 1 else {
            throw PlannerError.invalid(String(format: "the model needs %.1f GB of weights per GPU at tp=%d, pp=%d, more than the %.0f GB usable on %@; use more GPUs, a larger-memory accelerator or fewer bytes per weight",
                                              weightBytes / 1e9, tp, pp, limit / 1e9, hw.name))
        }
        let batch = job.batch ?? maxBatch
        guard batch >= 1 else { throw PlannerError.invalid("batch must be at least 1") }

        func allReduceSeconds(tokens: Double) -> Double {
            // Two all-reduces of the hidden state per layer (after attention and after the FFN).
            2 * Double(s.layerCount) / Double(pp) * CollectiveCost.onTopology(
                .allReduce, bytes: tokens * Double(s.embeddingDim) * 2, ranks: tp, stride: 1,
                hardware: hw, linkEfficiency: a.linkEfficiency)
        }
        // Prefill of `batch` prompts: causal attention sees on average half the prompt.
        func prefillSeconds(_ requests: Int) -> Double {
            let tokens = Double(requests * job.promptTokens)
            let flops = (Double(s.layerCount) * s.layerForwardFlops(tokens: tokens, seq: Double(job.promptTokens) / 2)
                         + s.logitFlops(tokens: Double(requests))) / Double(tp * pp)
            let compute = flops / peak, memory = weightBytes / hbm
            return max(compute, memory) * Double(pp) + allReduceSeconds(tokens: tokens)  // stages run in turn for one batch
        }
        // One decode step for `requests` sequences at `contextTokens` of context.
        func decodeSeconds(_ requests: Int, contextTokens: Double) -> Double {
            let r = Double(requests)
            let flops = (Double(s.layerCount) * s.layerForwardFlops(tokens: r, seq: contextTokens) + s.logitFlops(tokens: r))
                / Double(tp * pp)
            let bytes = weightBytes + r * contextTokens * kvPerToken
            return max(flops / peak, bytes / hbm) * Double(pp) + allReduceSeconds(tokens: r)
        }
        let prefill = prefillSeconds(batch)   // the whole batch's prompts, reported as prefillSeconds
        let averageContext = Double(job.promptTokens) + Double(job.outputTokens) / 2
        let step = decodeSeconds(batch, contextTokens: averageContext)
        var memory = MemoryBreakdown()
        memory.weights = weightBytes
        memory.kvCache = Double(batch) * Double(context) * kvPerToken
        memory.activations = workspace
        // TTFT: one arriving request's prefill (the running batch yields to it, as continuous batching does).
        var estimate = ServingEstimate(
            tp: tp, pp: pp, batch: batch, maxBatch: maxBatch, ttftSeconds: prefillSeconds(1), tpotSeconds: step,
            tokensPerSecond: Double(batch) / step, prefillSeconds: prefill, decodeStepSeconds: step,
            tpCommunicationSeconds: allReduceSeconds(tokens: Double(batch)), memory: memory, memoryLimitBytes: limit)

        // Goodput under latency targets (Zhong et al. 2024, DistServe, Section 2): requests per second per GPU
        // whose TTFT and TPOT both meet the targets.
        if let ttftTarget = job.ttftTargetSeconds, let tpotTarget = job.tpotTargetSeconds {
            let out = Double(job.outputTokens)
            // Largest decode batch meeting the TPOT target on its own.
            func decodeBatch(extraPerStep: (Int) -> Double) -> Int {
                var best = 0
                for b in 1...maxBatch where decodeSeconds(b, contextTokens: averageContext) + extraPerStep(b) <= tpotTarget { best = b }
                return best
            }
            let single = prefillSeconds(1)
            // Colocated: each request's prefill stalls the running batch once; spread over its output tokens.
            let colocatedBatch = decodeBatch { b in Double(b) / out * single }
            if single <= ttftTarget, colocatedBatch > 0 {
                let step = decodeSeconds(colocatedBatch, contextTokens: averageContext) + Double(colocatedBatch) / out * single
                estimate.colocatedGoodputPerGPU = Double(colocatedBatch) / (out * step) / Double(job.gpus)
            } else { estimate.colocatedGoodputPerGPU = 0 }
            // Disaggregated: one instance of this tp x pp shape for prefill, one for decode, each at its best
            // rate; the slower phase sets the pair's rate (KV transfer is overlapped with decode).
            let decodeOnly = decodeBatch { _ in 0 }
            if single <= ttftTarget, decodeOnly > 0 {
                let prefillRate = 1 / single
                let decodeRate = Double(decodeOnly) / (out * decodeSeconds(decodeOnly, contextTokens: averageContext))
                // Replicate the cheaper phase so both run at the same rate: k prefill instances per decode one.
                let ratio = decodeRate / prefillRate
                let prefillInstances = max(1, Int(ratio.rounded(.up))), decodeInstances = max(1, Int((1 / ratio).rounded(.up)))
                let pair = min(Double(prefillInstances) * prefillRate, Double(decodeInstances) * decodeRate)
                estimate.disaggregatedGoodputPerGPU = pair / Double((prefillInstances + decodeInstances) * job.gpus)
                estimate.disaggregatedSplit = (prefillInstances * job.gpus, decodeInstances * job.gpus)
            } else { estimate.disaggregatedGoodputPerGPU = 0 }
        }
        return estimate
    }

    /// Every tp x pp split of the GPUs that fits, best tokens per second first.
    public static func search(_ job: ServingJob, tp: Int? = nil, pp: Int? = nil,
                              assumptions: PlannerAssumptions = .init()) throws -> [ServingEstimate] {
        let splits = (1...max(1, job.gpus)).filter { job.gpus % $0 == 0 }.map { ($0, job.gpus / $0) }
            .filter { (t, p) in (tp == nil || t == tp) && (pp == nil || p == pp) }
        var results: [ServingEstimate] = []
        var firstError: (any Error)?
        for (t, p) in splits {
            do { results.append(try evaluate(job, tp: t, pp: p, assumptions: assumptions)) } catch { firstError = firstError ?? error }
        }
        guard !results.isEmpty else {
            throw firstError ?? PlannerError.invalid("no tp x pp split of \(job.gpus) GPUs serves this model")
        }
        return results.sorted { $0.tokensPerSecond > $1.tokensPerSecond }
    }
}
