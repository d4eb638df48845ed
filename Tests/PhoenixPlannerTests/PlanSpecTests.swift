import Foundation
import Testing
@testable import PhoenixPlanner

/// The spec files: the documented examples parse; bad input is a clear message, never a crash.
@Suite struct PlanSpecTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/examples")

    func spec(_ json: String, _ kind: PlanSpec.Kind = .train) throws -> PlanSpec {
        try PlanSpec.parse(Data(json.utf8), kind: kind)
    }
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }
    static let model = #""model": {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 50257, "seq_len": 2048}"#

    @Test func examplesParse() throws {
        let train = try PlanSpec.parse(try Data(contentsOf: Self.docs.appendingPathComponent("gpt3-175b-train.json")), kind: .train)
        #expect(train.shape.layerCount == 96 && train.parallel.tp == 8 && train.parallel.pp == nil)
        #expect(abs(train.shape.parameterCount - 175e9) / 175e9 < 0.01)
        let serve = try PlanSpec.parse(try Data(contentsOf: Self.docs.appendingPathComponent("llama70b-serve.json")), kind: .serve)
        #expect(serve.shape.kvHeadCount == 8 && serve.shape.ffnActivation == .swiglu)
        // Llama 3 70B has 70.6B parameters (Meta model card); the planner counts the embedding once (tied),
        // Llama's output layer is separate (128256 x 8192 = 1.05B more).
        #expect(abs(serve.shape.parameterCount + 128256 * 8192 - 70.6e9) / 70.6e9 < 0.005)
    }

    @Test func defaults() throws {
        let s = try spec("{\(Self.model), \"system\": {\"hardware\": \"a100-sxm-80gb\", \"gpus\": 8}, \"training\": {\"global_batch\": 64}}")
        #expect(s.shape.kvHeadCount == 16 && s.shape.ffnDim == 8192 && s.shape.ffnActivation == .gelu)
        #expect(s.parallel == PartialParallelConfig())
    }

    @Test func unknownKeyAndMissingFieldAreNamed() {
        let typo = message { _ = try spec("{\"model\": {\"layer\": 2}, \"system\": {}, \"training\": {}}") }
        #expect(typo.contains("unknown key \"layer\" in model"))
        let missing = message { _ = try spec("{\(Self.model), \"system\": {\"hardware\": \"h100-sxm\"}, \"training\": {\"global_batch\": 8}}") }
        #expect(missing.contains("missing field \"gpus\" in system"))
        let section = message { _ = try spec("{\(Self.model), \"system\": {\"hardware\": \"h100-sxm\", \"gpus\": 8}}") }
        #expect(section.contains("missing section \"training\""))
        let wrongType = message { _ = try spec("{\(Self.model), \"system\": {\"hardware\": \"h100-sxm\", \"gpus\": \"8\"}, \"training\": {\"global_batch\": 8}}") }
        #expect(wrongType.contains("system.gpus must be an integer"))
    }

    @Test func unknownHardwareListsTheCatalogue() {
        let m = message { _ = try spec("{\(Self.model), \"system\": {\"hardware\": \"h900\", \"gpus\": 8}, \"training\": {\"global_batch\": 8}}") }
        #expect(m.contains("unknown hardware \"h900\"") && m.contains("h100-sxm") && m.contains("mi300x"))
    }

    func plan(_ parallelism: String, gpus: Int = 8) -> String {
        message {
            _ = try PlanCommandOutput.train(spec: Data("{\(Self.model), \"system\": {\"hardware\": \"h100-sxm\", \"gpus\": \(gpus)}, \"training\": {\"global_batch\": 64}, \"parallelism\": {\(parallelism)}}".utf8), json: false)
        }
    }

    @Test func impossibleParallelSizesSayWhatToChange() {
        #expect(plan("\"tp\": 3, \"pp\": 1, \"dp\": 1, \"cp\": 1, \"microbatch\": 1, \"zero_stage\": 0, \"schedule\": \"1f1b\", \"recompute\": \"none\"", gpus: 3)
            .contains("tp = 3 does not divide heads = 16"))
        #expect(plan("\"pp\": 32").contains("pp = 32 is larger than layers = 24"))
        #expect(plan("\"tp\": 2, \"pp\": 2, \"dp\": 4").contains("but gpus is 8"))
    }

    @Test func aModelThatFitsNowhereSaysSo() {
        let huge = #""model": {"layers": 128, "hidden": 25600, "heads": 160, "vocab": 51200, "seq_len": 2048}"#
        let m = message {
            _ = try PlanCommandOutput.train(spec: Data("{\(huge), \"system\": {\"hardware\": \"a100-sxm-80gb\", \"gpus\": 8}, \"training\": {\"global_batch\": 8}}".utf8), json: false)
        }
        #expect(m.contains("no configuration fits") && m.contains("use more GPUs"))
    }

    @Test func trainJSONHasTheDocumentedFields() throws {
        let out = try PlanCommandOutput.train(spec: Data("{\(Self.model), \"system\": {\"hardware\": \"h100-sxm\", \"gpus\": 8}, \"training\": {\"global_batch\": 64}}".utf8), json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let best = try #require(object["best"] as? [String: Any])
        for key in ["step_time_s", "tflops_per_gpu", "mfu", "memory_per_gpu_gb", "memory_breakdown_gb", "bubble_rate"] {
            #expect(best[key] != nil, "missing \(key)")
        }
        let breakdown = try #require(best["memory_breakdown_gb"] as? [String: Double])
        #expect(Set(breakdown.keys) == ["weights", "gradients", "optimizer", "activations", "kv_cache"])
    }

    @Test func serveJSONHasTheDocumentedFields() throws {
        let out = try PlanCommandOutput.serve(spec: try Data(contentsOf: Self.docs.appendingPathComponent("llama70b-serve.json")), json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        for key in ["tokens_per_s", "ttft_s", "tpot_s", "memory_per_gpu_gb", "memory_breakdown_gb"] { #expect(object[key] != nil, "missing \(key)") }
    }
}
