import Foundation

/// PhoenixPlanner/PlanSpec.swift. The JSON spec files of `phoenix plan train` and `phoenix plan serve`.
/// Checked strictly: an unknown key or a missing required field is an error naming it (docs/planner.md).
public struct PlanSpec: Sendable {
    public var shape: TransformerShape
    public var hardware: PlannerHardware
    public var gpus: Int
    public var globalBatch: Int?
    public var flashAttention: Bool
    public var parallel: PartialParallelConfig
    public var promptTokens: Int?
    public var outputTokens: Int?
    public var batch: Int?
    public var ttftTargetSeconds: Double?
    public var tpotTargetSeconds: Double?
    public var weightBytesPerParameter: Double

    public enum Kind: String, Sendable { case train, serve }

    static let sections: [Kind: [String]] = [
        .train: ["model", "system", "training", "parallelism"],
        .serve: ["model", "system", "serving", "parallelism"],
    ]
    static let modelKeys = ["layers", "hidden", "heads", "vocab", "seq_len", "kv_heads", "ffn_hidden", "ffn_act"]
    static let systemKeys = ["hardware", "gpus"]
    static let trainingKeys = ["global_batch", "flash_attention"]
    static let servingKeys = ["prompt_len", "output_len", "batch", "ttft_slo_s", "tpot_slo_s", "weight_bytes"]
    static let trainParallelKeys = ["tp", "pp", "dp", "cp", "microbatch", "schedule", "virtual_stages", "recompute",
                                    "sequence_parallel", "zero_stage", "offload_optimizer"]
    static let serveParallelKeys = ["tp", "pp"]

    /// Parse `data` as a spec for `kind`.
    public static func parse(_ data: Data, kind: Kind) throws -> PlanSpec {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw PlannerError.invalid("the spec is not valid JSON: \(error.localizedDescription)")
        }
        guard let top = root as? [String: Any] else { throw PlannerError.invalid("the spec must be a JSON object") }
        try checkKeys(top, allowed: sections[kind]!, in: "the spec")
        let model = try section(top, "model"), system = try section(top, "system")
        let parallelism = try section(top, "parallelism", required: false)
        try checkKeys(model, allowed: modelKeys, in: "model")
        try checkKeys(system, allowed: systemKeys, in: "system")
        try checkKeys(parallelism, allowed: kind == .train ? trainParallelKeys : serveParallelKeys, in: "parallelism")

        let heads = try int(model, "heads", in: "model")!
        let activationName = try string(model, "ffn_act", in: "model", required: false) ?? "gelu"
        guard let activation = TransformerShape.FFNActivation(rawValue: activationName) else {
            throw PlannerError.invalid("model.ffn_act must be \"gelu\" or \"swiglu\", got \"\(activationName)\"")
        }
        let shape = TransformerShape(
            layerCount: try int(model, "layers", in: "model")!, embeddingDim: try int(model, "hidden", in: "model")!,
            headCount: heads, kvHeadCount: try int(model, "kv_heads", in: "model", required: false),
            vocabSize: try int(model, "vocab", in: "model")!, contextLength: try int(model, "seq_len", in: "model")!,
            ffnDim: try int(model, "ffn_hidden", in: "model", required: false), ffnActivation: activation)
        for (name, value) in [("layers", shape.layerCount), ("hidden", shape.embeddingDim), ("heads", heads),
                              ("kv_heads", shape.kvHeadCount), ("vocab", shape.vocabSize), ("seq_len", shape.contextLength),
                              ("ffn_hidden", shape.ffnDim)] where value < 1 {
            throw PlannerError.invalid("model.\(name) must be positive, got \(value)")
        }
        guard shape.embeddingDim % heads == 0 else {
            throw PlannerError.invalid("model.hidden (\(shape.embeddingDim)) must be a multiple of model.heads (\(heads))")
        }
        guard heads % shape.kvHeadCount == 0 else {
            throw PlannerError.invalid("model.heads (\(heads)) must be a multiple of model.kv_heads (\(shape.kvHeadCount))")
        }
        let hardware = try HardwareCatalogue.named(try string(system, "hardware", in: "system")!)
        let gpus = try int(system, "gpus", in: "system")!
        guard gpus >= 1 else { throw PlannerError.invalid("system.gpus must be at least 1, got \(gpus)") }

        var p = PartialParallelConfig()
        p.tp = try int(parallelism, "tp", in: "parallelism", required: false)
        p.pp = try int(parallelism, "pp", in: "parallelism", required: false)
        var spec = PlanSpec(shape: shape, hardware: hardware, gpus: gpus, globalBatch: nil, flashAttention: true,
                            parallel: p, promptTokens: nil, outputTokens: nil, batch: nil, ttftTargetSeconds: nil,
                            tpotTargetSeconds: nil, weightBytesPerParameter: 2)
        switch kind {
        case .train:
            let training = try section(top, "training")
            try checkKeys(training, allowed: trainingKeys, in: "training")
            spec.globalBatch = try int(training, "global_batch", in: "training")!
            spec.flashAttention = try bool(training, "flash_attention", in: "training") ?? true
            p.dp = try int(parallelism, "dp", in: "parallelism", required: false)
            p.cp = try int(parallelism, "cp", in: "parallelism", required: false)
            p.microbatch = try int(parallelism, "microbatch", in: "parallelism", required: false)
            p.virtualStages = try int(parallelism, "virtual_stages", in: "parallelism", required: false)
            p.zeroStage = try int(parallelism, "zero_stage", in: "parallelism", required: false)
            p.sequenceParallel = try bool(parallelism, "sequence_parallel", in: "parallelism")
            p.offloadOptimizer = try bool(parallelism, "offload_optimizer", in: "parallelism")
            if let name = try string(parallelism, "schedule", in: "parallelism", required: false) {
                p.schedule = try PipelineScheduleKind.named(name)
            }
            if let name = try string(parallelism, "recompute", in: "parallelism", required: false) {
                guard let r = Recompute(rawValue: name) else {
                    throw PlannerError.invalid("parallelism.recompute must be \"none\", \"selective\" or \"full\", got \"\(name)\"")
                }
                p.recompute = r
            }
        case .serve:
            let serving = try section(top, "serving")
            try checkKeys(serving, allowed: servingKeys, in: "serving")
            spec.promptTokens = try int(serving, "prompt_len", in: "serving")!
            spec.outputTokens = try int(serving, "output_len", in: "serving")!
            spec.batch = try int(serving, "batch", in: "serving", required: false)
            spec.ttftTargetSeconds = try double(serving, "ttft_slo_s", in: "serving")
            spec.tpotTargetSeconds = try double(serving, "tpot_slo_s", in: "serving")
            spec.weightBytesPerParameter = try double(serving, "weight_bytes", in: "serving") ?? 2
        }
        spec.parallel = p
        return spec
    }

    // MARK: - Strict field access

    /// JSON true/false arrive as NSNumber too; their Objective-C type is char ("c").
    static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return value is Bool }
        return String(cString: number.objCType) == "c"
    }

    static func checkKeys(_ object: [String: Any], allowed: [String], in place: String) throws {
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw PlannerError.invalid("unknown key \"\(key)\" in \(place); allowed: \(allowed.joined(separator: ", "))")
        }
    }

    static func section(_ object: [String: Any], _ name: String, required: Bool = true) throws -> [String: Any] {
        guard let value = object[name] else {
            if required { throw PlannerError.invalid("missing section \"\(name)\" in the spec") }
            return [:]
        }
        guard let dict = value as? [String: Any] else { throw PlannerError.invalid("\"\(name)\" must be a JSON object") }
        return dict
    }

    static func int(_ object: [String: Any], _ key: String, in place: String, required: Bool = true) throws -> Int? {
        guard let value = object[key], !(value is NSNull) else {
            if required { throw PlannerError.invalid("missing field \"\(key)\" in \(place)") }
            return nil
        }
        guard let number = value as? NSNumber, !isBoolean(value),
              number.doubleValue == number.doubleValue.rounded() else {
            throw PlannerError.invalid("\(place).\(key) must be an integer, got \(value)")
        }
        return number.intValue
    }

    static func double(_ object: [String: Any], _ key: String, in place: String) throws -> Double? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !isBoolean(value) else {
            throw PlannerError.invalid("\(place).\(key) must be a number, got \(value)")
        }
        return number.doubleValue
    }

    static func bool(_ object: [String: Any], _ key: String, in place: String) throws -> Bool? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, isBoolean(value) else {
            throw PlannerError.invalid("\(place).\(key) must be true or false, got \(value)")
        }
        return number.boolValue
    }

    static func string(_ object: [String: Any], _ key: String, in place: String, required: Bool = true) throws -> String? {
        guard let value = object[key], !(value is NSNull) else {
            if required { throw PlannerError.invalid("missing field \"\(key)\" in \(place)") }
            return nil
        }
        guard let s = value as? String else { throw PlannerError.invalid("\(place).\(key) must be a string, got \(value)") }
        return s
    }
}
