import Testing
@testable import PhoenixPlanner

/// Published results recomputed from the papers' own inputs.
@Suite struct PaperReproductionTests {
    static let a100Peak = 312e12    // A100 BF16 dense, the peak both Megatron papers use

    // Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models": Table 3
    // (configurations: seq 2048, vocab 51200, tp 8) and Table 4 (iteration time with sequence parallelism
    // + selective recompute, MFU, HFU). MFU and HFU must come out of the paper's FLOP formula at the
    // published iteration time; the time is printed to 3-4 digits, so the check allows the change in
    // MFU that the last printed digit of the time can make, plus the rounding of MFU itself.
    struct KorthikantiRun: Sendable {
        var name: String; var heads, hidden, layers, gpus, batch: Int
        var seconds, mfu, hfu: Double
    }
    static let korthikantiRuns = [
        KorthikantiRun(name: "22B", heads: 64, hidden: 6144, layers: 48, gpus: 8, batch: 4, seconds: 1.10, mfu: 41.5, hfu: 43.7),
        KorthikantiRun(name: "175B", heads: 96, hidden: 12288, layers: 96, gpus: 64, batch: 64, seconds: 13.75, mfu: 51.4, hfu: 52.8),
        KorthikantiRun(name: "530B", heads: 128, hidden: 20480, layers: 105, gpus: 280, batch: 280, seconds: 37.83, mfu: 56.0, hfu: 57.0),
        KorthikantiRun(name: "1T", heads: 160, hidden: 25600, layers: 128, gpus: 512, batch: 512, seconds: 71.49, mfu: 56.3, hfu: 57.0),
    ]

    @Test(arguments: korthikantiRuns)
    func korthikantiTable4MFUAndHFU(run: KorthikantiRun) {
        let shape = TransformerShape(layerCount: run.layers, embeddingDim: run.hidden, headCount: run.heads,
                                     vocabSize: 51200, contextLength: 2048)
        let mfu = 100 * Utilization.mfu(shape, batch: run.batch, iterationSeconds: run.seconds, gpus: run.gpus,
                                        peakFlopsPerSecond: Self.a100Peak)
        let hfu = 100 * Utilization.hfu(shape, batch: run.batch, recompute: .selective, iterationSeconds: run.seconds,
                                        gpus: run.gpus, peakFlopsPerSecond: Self.a100Peak)
        let timeDigit = 0.005   // half a unit in the last printed place of the time
        let slack = { (value: Double) in value * timeDigit / run.seconds + 0.05 + 1e-9 }
        #expect(abs(mfu - run.mfu) <= slack(mfu), "\(run.name): MFU \(mfu)")
        #expect(abs(hfu - run.hfu) <= slack(hfu), "\(run.name): HFU \(hfu)")
    }

    // Same table: the ratio HFU / MFU does not depend on the time, so it is checked to the printed digits.
    @Test(arguments: korthikantiRuns)
    func korthikantiHardwareToModelFlopRatio(run: KorthikantiRun) {
        let shape = TransformerShape(layerCount: run.layers, embeddingDim: run.hidden, headCount: run.heads,
                                     vocabSize: 51200, contextLength: 2048)
        let ratio = shape.hardwareFlopsPerIteration(batch: run.batch, recompute: .selective)
            / shape.modelFlopsPerIteration(batch: run.batch)
        let low = (run.hfu - 0.05) / (run.mfu + 0.05), high = (run.hfu + 0.05) / (run.mfu - 0.05)
        #expect(ratio >= low && ratio <= high, "\(run.name): \(ratio) not in [\(low), \(high)]")
    }

    // Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on GPU Clusters Using
    // Megatron-LM", Section 5.1 eq. 3: with full recomputation an iteration is
    // 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) FLOPs.
    @Test func narayananFlopFormula() {
        let (b, s, l, h, v) = (1536.0, 2048.0, 48.0, 8192.0, 51200.0)
        let shape = TransformerShape(layerCount: 48, embeddingDim: 8192, headCount: 64, vocabSize: 51200, contextLength: 2048)
        let expected = 96 * b * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h))
        let got = shape.hardwareFlopsPerIteration(batch: 1536, recompute: .full)
        #expect(abs(got - expected) / expected < 1e-12)
    }

    // Narayanan et al. 2021, Table 1 (weak scaling on Selene, A100 80GB, seq 2048, vocab 51200, full
    // recomputation): achieved TFLOP/s per GPU. The planner predicts each run from its configuration
    // alone; the specification asks for 15%.
    struct NarayananRun: Sendable {
        var params: String; var heads, hidden, layers, tp, pp, gpus, batch: Int; var tflops: Double
    }
    static let narayananRuns = [
        NarayananRun(params: "1.7B", heads: 24, hidden: 2304, layers: 24, tp: 1, pp: 1, gpus: 32, batch: 512, tflops: 137),
        NarayananRun(params: "3.6B", heads: 32, hidden: 3072, layers: 30, tp: 2, pp: 1, gpus: 64, batch: 512, tflops: 138),
        NarayananRun(params: "7.5B", heads: 32, hidden: 4096, layers: 36, tp: 4, pp: 1, gpus: 128, batch: 512, tflops: 142),
        NarayananRun(params: "18.4B", heads: 48, hidden: 6144, layers: 40, tp: 8, pp: 1, gpus: 256, batch: 1024, tflops: 135),
        NarayananRun(params: "39.1B", heads: 64, hidden: 8192, layers: 48, tp: 8, pp: 2, gpus: 512, batch: 1536, tflops: 138),
        NarayananRun(params: "76.1B", heads: 80, hidden: 10240, layers: 60, tp: 8, pp: 4, gpus: 1024, batch: 1792, tflops: 140),
        NarayananRun(params: "145.6B", heads: 96, hidden: 12288, layers: 80, tp: 8, pp: 8, gpus: 1536, batch: 2304, tflops: 148),
        NarayananRun(params: "310.1B", heads: 128, hidden: 16384, layers: 96, tp: 8, pp: 16, gpus: 1920, batch: 2160, tflops: 155),
        NarayananRun(params: "529.6B", heads: 128, hidden: 20480, layers: 105, tp: 8, pp: 35, gpus: 2520, batch: 2520, tflops: 163),
        NarayananRun(params: "1008.0B", heads: 160, hidden: 25600, layers: 128, tp: 8, pp: 64, gpus: 3072, batch: 3072, tflops: 163),
    ]

    @Test(arguments: narayananRuns)
    func narayananTable1ThroughputWithin15Percent(run: NarayananRun) throws {
        let shape = TransformerShape(layerCount: run.layers, embeddingDim: run.hidden, headCount: run.heads,
                                     vocabSize: 51200, contextLength: 2048)
        let job = TrainingJob(shape: shape, hardware: try HardwareCatalogue.named("a100-sxm-80gb"), gpus: run.gpus,
                              globalBatch: run.batch, flashAttention: false)
        let dp = run.gpus / (run.tp * run.pp)
        let config = ParallelConfig(tp: run.tp, pp: run.pp, dp: dp, microbatch: 1, schedule: .oneFOneB, recompute: .full)
        let estimate = try TrainingPlanner.evaluate(job, config)
        let error = (estimate.tflopsPerGPU - run.tflops) / run.tflops
        #expect(abs(error) <= 0.15, "\(run.params): \(estimate.tflopsPerGPU) TFLOP/s vs \(run.tflops) (\(error * 100)%)")
        // The parameter count of the configuration rounds to the one the table prints (eq. 2).
        let named = Double(run.params.dropLast())! * 1e9
        #expect(abs(shape.parameterCount - named) <= 0.05e9, "\(run.params): \(shape.parameterCount)")
    }

    // Korthikanti et al. 2022, Table 4, predicted rather than recomputed: the planner, given only the
    // Table 3 configuration (sequence parallelism + selective recompute, microbatch 1, 1F1B), predicts the
    // iteration time; its MFU must land within 15% of the published one. (The efficiency constant was
    // not fitted to this table.)
    @Test(arguments: korthikantiRuns)
    func korthikantiTable4PredictedWithin15Percent(run: KorthikantiRun) throws {
        let shape = TransformerShape(layerCount: run.layers, embeddingDim: run.hidden, headCount: run.heads,
                                     vocabSize: 51200, contextLength: 2048)
        let job = TrainingJob(shape: shape, hardware: try HardwareCatalogue.named("a100-sxm-80gb"), gpus: run.gpus,
                              globalBatch: run.batch, flashAttention: false)
        let pp = run.gpus / 8
        let config = ParallelConfig(tp: 8, pp: pp, dp: 1, microbatch: run.name == "22B" ? 4 : 1, schedule: .oneFOneB,
                                    recompute: .selective, sequenceParallel: true)
        let estimate = try TrainingPlanner.evaluate(job, config)
        #expect(abs(estimate.mfu * 100 - run.mfu) / run.mfu <= 0.15, "\(run.name): MFU \(estimate.mfu)")
    }

    // Rajbhandari et al. 2020 (ZeRO), Figure 1 and Table 1: a 7.5B model with mixed-precision Adam
    // (K = 12) on 64 data-parallel devices needs 120 GB per device for model states without partitioning,
    // 31.4 GB with P_os, 16.6 GB with P_os+g and 1.88 GB with P_os+g+p.
    @Test(arguments: [(0, 120.0, 0.05), (1, 31.4, 0.05), (2, 16.6, 0.05), (3, 1.88, 0.005)])
    func zeroFigure1(stage: Int, gigabytes: Double, rounding: Double) {
        let states = ModelStateBytes(parameters: 7.5e9, dataParallel: 64, zeroStage: stage)
        #expect(abs(states.total / 1e9 - gigabytes) <= rounding, "stage \(stage): \(states.total / 1e9)")
    }

    // ZeRO Table 1, the 7.5B row at the other data-parallel degrees (GB per device for P_os, P_os+g, P_os+g+p).
    @Test(arguments: [(4, 52.5, 41.3, 30.0), (16, 35.6, 21.6, 7.5), (256, 30.4, 15.4, 0.47), (1024, 30.1, 15.1, 0.12)])
    func zeroTable1(dp: Int, os: Double, osg: Double, osgp: Double) {
        for (stage, expected) in [(1, os), (2, osg), (3, osgp)] {
            let got = ModelStateBytes(parameters: 7.5e9, dataParallel: dp, zeroStage: stage).total / 1e9
            let digits = expected < 1 ? 0.005 : 0.05
            #expect(abs(got - expected) <= digits + 1e-9, "dp \(dp) stage \(stage): \(got)")
        }
    }

    // Korthikanti et al. 2022, Table 2: activation memory per layer for GPT shapes, in units of s b h bytes.
    @Test func korthikantiTable2ActivationMemory() {
        let (s, b, h, a, t) = (2048, 1, 12288, 96, 8)
        let shape = TransformerShape(layerCount: 96, embeddingDim: h, headCount: a, vocabSize: 51200, contextLength: s)
        let sbh = Double(s * b * h), scores = 5 * Double(a * s) / Double(h)
        func bytes(_ tp: Int, _ sp: Bool, _ rc: Recompute) -> Double {
            ActivationMemory.perLayerBytes(shape, microbatch: b, sequenceLength: s, tensorParallel: tp,
                                           sequenceParallel: sp, recompute: rc, flashAttention: false)
        }
        let cases: [(Double, Double)] = [
            (bytes(1, false, .none), sbh * (34 + scores)),                                // no parallelism
            (bytes(t, false, .none), sbh * (10 + 24 / Double(t) + scores / Double(t))),   // tensor parallel
            (bytes(t, true, .none), sbh * (34 / Double(t) + scores / Double(t))),         // + sequence parallel
            (bytes(t, false, .selective), sbh * (10 + 24 / Double(t))),                   // tensor + selective
            (bytes(t, true, .selective), sbh * 34 / Double(t)),                           // all three
            (bytes(1, false, .full), sbh * 2),                                            // full recompute
        ]
        for (got, expected) in cases { #expect(abs(got - expected) / expected < 1e-12) }
    }

    // Kwon et al. 2023 (vLLM, PagedAttention), Section 3: "the KV cache of a single token demands 800 KB of
    // space, calculated as 2 (key and value vectors) x 5120 (hidden state size) x 40 (number of layers) x 2
    // (bytes per FP16)" for OPT-13B.
    @Test func vllmKVCachePerToken() {
        let opt13b = TransformerShape(layerCount: 40, embeddingDim: 5120, headCount: 40, vocabSize: 50272, contextLength: 2048)
        #expect(ServingPlanner.kvBytesPerToken(opt13b, bytesPerValue: 2) == 2 * 5120 * 40 * 2)
        #expect(abs(ServingPlanner.kvBytesPerToken(opt13b, bytesPerValue: 2) / 1024 - 800) < 1)
    }
}
