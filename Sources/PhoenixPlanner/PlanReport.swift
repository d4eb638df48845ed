import Foundation

/// PhoenixPlanner/PlanReport.swift. The one library call behind each `phoenix plan` command, and its output
/// as a readable table or JSON.
public enum PlanCommandOutput {
    /// `phoenix plan train`: search (or cost) the spec's configuration; the best that fits plus runners-up.
    public static func train(spec data: Data, json: Bool, runnersUp: Int = 4) throws -> String {
        let spec = try PlanSpec.parse(data, kind: .train)
        let job = TrainingJob(shape: spec.shape, hardware: spec.hardware, gpus: spec.gpus, globalBatch: spec.globalBatch!,
                              flashAttention: spec.flashAttention)
        let all = try TrainingPlanner.search(job, fixed: spec.parallel)
        guard let best = all.first, best.fits else {
            let smallest = all.min { $0.memory.total < $1.memory.total }!
            throw PlannerError.invalid(String(
                format: "no configuration fits: the smallest needs %.1f GB per GPU (%@), and %@ has %.0f GB usable; use more GPUs, a larger-memory accelerator, a shorter seq_len or a smaller model, or leave more parallelism fields to the search",
                smallest.memory.total / 1e9, describe(smallest.config), spec.hardware.name, smallest.memoryLimitBytes / 1e9))
        }
        let shown = Array(all.filter(\.fits).prefix(1 + runnersUp))
        if json { return try encode(["model_parameters": spec.shape.parameterCount, "hardware": spec.hardware.name,
                                     "gpus": Double(spec.gpus), "best": trainingJSON(best),
                                     "runners_up": shown.dropFirst().map(trainingJSON)] as [String: Any]) }
        var lines = [
            String(format: "%@ x %d, %.2fB parameters, global batch %d, %d configurations costed",
                   spec.hardware.name, spec.gpus, spec.shape.parameterCount / 1e9, spec.globalBatch!, all.count),
            "",
            "best: " + describe(best.config),
            String(format: "  step_time_s        %.3f", best.stepSeconds),
            String(format: "  tflops_per_gpu     %.1f", best.tflopsPerGPU),
            String(format: "  mfu                %.1f%%", best.mfu * 100),
            String(format: "  hfu                %.1f%%", best.hfu * 100),
            String(format: "  bubble_rate        %.3f", best.bubbleRate),
            String(format: "  memory_per_gpu_gb  %.1f of %.0f usable", best.memory.total / 1e9, best.memoryLimitBytes / 1e9),
            String(format: "    weights %.1f, gradients %.1f, optimizer %.1f, activations %.1f, kv_cache %.1f",
                   best.memory.weights / 1e9, best.memory.gradients / 1e9, best.memory.optimizer / 1e9,
                   best.memory.activations / 1e9, best.memory.kvCache / 1e9),
            String(format: "  step = pipeline %.3f s + data-parallel sync %.3f s + optimizer %.3f s",
                   best.pipelineSeconds, best.dataParallelSeconds, best.optimizerSeconds),
        ]
        if shown.count > 1 {
            lines += ["", "runners-up:", table(
                ["tp", "pp", "dp", "cp", "mb", "schedule", "recompute", "zero", "step_s", "mfu", "mem_gb"],
                shown.dropFirst().map { e in
                    [String(e.config.tp), String(e.config.pp), String(e.config.dp), String(e.config.cp),
                     String(e.config.microbatch), e.config.schedule.rawValue, e.config.recompute.rawValue,
                     String(e.config.zeroStage), String(format: "%.3f", e.stepSeconds),
                     String(format: "%.1f%%", e.mfu * 100), String(format: "%.1f", e.memory.total / 1e9)]
                })]
        }
        return lines.joined(separator: "\n")
    }

    /// `phoenix plan serve`: the best tp x pp split, with latency, throughput and goodput.
    public static func serve(spec data: Data, json: Bool) throws -> String {
        let spec = try PlanSpec.parse(data, kind: .serve)
        var job = ServingJob(shape: spec.shape, hardware: spec.hardware, gpus: spec.gpus,
                             promptTokens: spec.promptTokens!, outputTokens: spec.outputTokens!, batch: spec.batch)
        job.ttftTargetSeconds = spec.ttftTargetSeconds
        job.tpotTargetSeconds = spec.tpotTargetSeconds
        job.weightBytesPerParameter = spec.weightBytesPerParameter
        let all = try ServingPlanner.search(job, tp: spec.parallel.tp, pp: spec.parallel.pp)
        let best = all[0]
        if json {
            var object: [String: Any] = [
                "hardware": spec.hardware.name, "gpus": Double(spec.gpus), "tp": Double(best.tp), "pp": Double(best.pp),
                "batch": Double(best.batch), "max_batch": Double(best.maxBatch), "tokens_per_s": best.tokensPerSecond,
                "ttft_s": best.ttftSeconds, "tpot_s": best.tpotSeconds, "memory_per_gpu_gb": best.memory.total / 1e9,
                "memory_breakdown_gb": breakdownJSON(best.memory), "tp_communication_s": best.tpCommunicationSeconds,
            ]
            if let g = best.colocatedGoodputPerGPU { object["colocated_goodput_per_gpu"] = g }
            if let g = best.disaggregatedGoodputPerGPU { object["disaggregated_goodput_per_gpu"] = g }
            return try encode(object)
        }
        var lines = [
            String(format: "%@ x %d, %.2fB parameters, prompt %d + output %d tokens",
                   spec.hardware.name, spec.gpus, spec.shape.parameterCount / 1e9, job.promptTokens, job.outputTokens),
            "",
            "best: tp=\(best.tp) pp=\(best.pp) batch=\(best.batch) (largest that fits: \(best.maxBatch))",
            String(format: "  tokens_per_s       %.0f", best.tokensPerSecond),
            String(format: "  ttft_s             %.4f", best.ttftSeconds),
            String(format: "  tpot_s             %.4f", best.tpotSeconds),
            String(format: "  memory_per_gpu_gb  %.1f of %.0f usable (weights %.1f, kv_cache %.1f, activations %.1f)",
                   best.memory.total / 1e9, best.memoryLimitBytes / 1e9, best.memory.weights / 1e9,
                   best.memory.kvCache / 1e9, best.memory.activations / 1e9),
            String(format: "  tp all-reduce per decode step %.5f s", best.tpCommunicationSeconds),
        ]
        if let c = best.colocatedGoodputPerGPU, let d = best.disaggregatedGoodputPerGPU {
            lines.append(String(format: "  goodput (req/s/GPU under TTFT %.3f s, TPOT %.3f s): colocated %.3f, disaggregated %.3f",
                                job.ttftTargetSeconds!, job.tpotTargetSeconds!, c, d))
        }
        if all.count > 1 {
            lines += ["", "other splits:", table(["tp", "pp", "batch", "tokens/s", "ttft_s", "tpot_s"], all.dropFirst().map { e in
                [String(e.tp), String(e.pp), String(e.batch), String(format: "%.0f", e.tokensPerSecond),
                 String(format: "%.4f", e.ttftSeconds), String(format: "%.4f", e.tpotSeconds)]
            })]
        }
        return lines.joined(separator: "\n")
    }

    /// `phoenix plan schedule`: the timeline as text (and its bubble), or JSON.
    public static func schedule(name: String, stages: Int, microbatches: Int, virtualStages: Int = 2,
                                times: StageTimes = .unit, json: Bool) throws -> (output: String, timeline: PipelineTimeline) {
        let kind = try PipelineScheduleKind.named(name)
        let t = try PipelineTimeline.generate(kind, devices: stages, microbatches: microbatches,
                                              virtualStages: virtualStages, times: times)
        if json {
            let ops = t.ops.joined().map { op -> [String: Any] in
                ["device": Double(op.device), "kind": op.kind.rawValue, "microbatch": Double(op.microbatch),
                 "stage": Double(op.stage), "start": op.start, "end": op.end]
            }
            return (try encode(["schedule": kind.rawValue, "stages": Double(stages), "microbatches": Double(microbatches),
                                "bubble_rate": t.bubbleRate, "makespan": t.makespan,
                                "peak_activations": t.peakActivations, "ops": ops] as [String: Any]), t)
        }
        let legend = "F forward, B input gradient, W weight gradient, X combined backward (lowercase: second chunk), . idle"
        return ([String(format: "%@, %d stages, %d microbatches: bubble_rate %.4f, peak activations %@ microbatches",
                        kind.rawValue, stages, microbatches, t.bubbleRate,
                        t.peakActivations.map { String(format: "%g", $0) }.joined(separator: "/")),
                 t.text(), legend].joined(separator: "\n"), t)
    }

    /// `phoenix plan hardware`: the catalogue.
    public static func hardware(json: Bool) throws -> String {
        let all = HardwareCatalogue.all
        if json {
            return try encode(["accelerators": all.map { h -> [String: Any] in
                ["name": h.name, "vendor": h.vendor, "tflops": h.teraflops, "memory_gb": h.memoryBytes / 1e9,
                 "memory_bandwidth_gbps": h.memoryBandwidthBytesPerSecond / 1e9, "scale_up": h.scaleUp.name,
                 "scale_up_gbps": h.scaleUp.bandwidthBytesPerSecond / 1e9, "scale_up_domain": Double(h.scaleUp.domain),
                 "scale_out": h.scaleOut.name, "scale_out_gbitps": h.scaleOut.bandwidthBytesPerSecond * 8 / 1e9,
                 "source": h.source]
            }] as [String: Any])
        }
        return table(["name", "vendor", "bf16 TF", "fp8 TF", "mem GB", "HBM GB/s", "scale-up GB/s x domain", "scale-out Gb/s"],
                     all.map { h in
            [h.name, h.vendor, h.teraflops["bf16"].map { String(format: "%.0f", $0) } ?? "-",
             h.teraflops["fp8"].map { String(format: "%.0f", $0) } ?? "-", String(format: "%.0f", h.memoryBytes / 1e9),
             String(format: "%.0f", h.memoryBandwidthBytesPerSecond / 1e9),
             String(format: "%.0f x %d", h.scaleUp.bandwidthBytesPerSecond / 1e9, h.scaleUp.domain),
             String(format: "%.0f", h.scaleOut.bandwidthBytesPerSecond * 8 / 1e9)]
        }) + "\n\nsources: see Sources/PhoenixPlanner/Resources/hardware.json (`--json` prints them)"
    }

    // MARK: - Formatting

    static func describe(_ c: ParallelConfig) -> String {
        "tp=\(c.tp) pp=\(c.pp) dp=\(c.dp) cp=\(c.cp) microbatch=\(c.microbatch) schedule=\(c.schedule.rawValue)"
            + (c.schedule == .interleaved ? " virtual_stages=\(c.virtualStages)" : "")
            + " recompute=\(c.recompute.rawValue) sequence_parallel=\(c.sequenceParallel) zero_stage=\(c.zeroStage)"
    }

    static func breakdownJSON(_ m: MemoryBreakdown) -> [String: Double] {
        ["weights": m.weights / 1e9, "gradients": m.gradients / 1e9, "optimizer": m.optimizer / 1e9,
         "activations": m.activations / 1e9, "kv_cache": m.kvCache / 1e9]
    }

    static func trainingJSON(_ e: TrainingEstimate) -> [String: Any] {
        let c = e.config
        return [
            "tp": Double(c.tp), "pp": Double(c.pp), "dp": Double(c.dp), "cp": Double(c.cp), "microbatch": Double(c.microbatch),
            "schedule": c.schedule.rawValue, "virtual_stages": Double(c.virtualStages), "recompute": c.recompute.rawValue,
            "sequence_parallel": c.sequenceParallel, "zero_stage": Double(c.zeroStage),
            "step_time_s": e.stepSeconds, "tflops_per_gpu": e.tflopsPerGPU, "mfu": e.mfu, "hfu": e.hfu,
            "bubble_rate": e.bubbleRate, "memory_per_gpu_gb": e.memory.total / 1e9,
            "memory_breakdown_gb": breakdownJSON(e.memory), "microbatches": Double(e.microbatchCount),
        ]
    }

    static func encode(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
    }
}
