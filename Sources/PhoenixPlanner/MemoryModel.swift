/// PhoenixPlanner/MemoryModel.swift. Bytes a training run keeps per GPU: model states (weights, gradients,
/// optimizer) partitioned by ZeRO, and activations under tensor / sequence parallelism and recomputation.

/// Model states with mixed-precision Adam, as ZeRO counts them (Rajbhandari et al. 2020, Section 3.1):
/// 2 bytes of fp16/bf16 weights, 2 of gradients, K = 12 of optimizer state (fp32 weights, momentum, variance).
public struct ModelStateBytes: Sendable, Equatable {
    public var weights: Double
    public var gradients: Double
    public var optimizer: Double
    /// Optimizer state moved to host memory by ZeRO-Offload (Ren et al. 2021); not on the GPU.
    public var offloadedToHost: Double
    public var total: Double { weights + gradients + optimizer }

    public static let weightBytesPerParameter = 2.0
    public static let gradientBytesPerParameter = 2.0
    public static let optimizerBytesPerParameter = 12.0

    /// `parameters` held by one model-parallel rank, partitioned over `dataParallel` ranks by `zeroStage`:
    /// stage 1 shards optimizer state, 2 adds gradients, 3 adds weights (ZeRO, Figure 1).
    public init(parameters: Double, dataParallel: Int, zeroStage: Int, offloadOptimizer: Bool = false) {
        let nd = Double(dataParallel)
        weights = parameters * Self.weightBytesPerParameter / (zeroStage >= 3 ? nd : 1)
        gradients = parameters * Self.gradientBytesPerParameter / (zeroStage >= 2 ? nd : 1)
        let optimizerBytes = parameters * Self.optimizerBytesPerParameter / (zeroStage >= 1 ? nd : 1)
        optimizer = offloadOptimizer ? 0 : optimizerBytes
        offloadedToHost = offloadOptimizer ? optimizerBytes : 0
    }
}

/// Activation memory of one transformer layer for one microbatch (Korthikanti et al. 2022, Section 4, Table 2).
/// For GPT shapes without parallelism: s b h (34 + 5 a s / h) bytes with 16-bit activations and dropout masks.
public enum ActivationMemory {
    /// Bytes one layer stores for the backward pass.
    /// - Parameters: `microbatch` sequences of `sequenceLength` tokens (already divided by context parallelism),
    ///   `tensorParallel` ranks, whether `sequenceParallel` shards the replicated parts, the `recompute` policy,
    ///   and `flashAttention` (the s x s scores are never stored, as with selective recompute).
    public static func perLayerBytes(_ shape: TransformerShape, microbatch: Int, sequenceLength: Int,
                                     tensorParallel: Int, sequenceParallel: Bool, recompute: Recompute,
                                     flashAttention: Bool) -> Double {
        let sb = Double(microbatch * sequenceLength), t = Double(tensorParallel)
        let h = Double(shape.embeddingDim), kv = Double(shape.kvDim), f = Double(shape.ffnDim)
        if recompute == .full {
            return 2 * sb * h / (sequenceParallel ? t : 1)             // only the layer input is kept
        }
        // Replicated under tensor parallelism (10 s b h for GPT): two norm inputs (4), attention and MLP
        // inputs (2 + 2), two dropout masks (1 + 1).
        let replicated = 10 * sb * h
        // Split by tensor parallelism: Q, K (2h + 2kv), V (2kv), output-projection input (2h);
        // FFN: GELU input and output (2f + 2f), or SwiGLU gate, up and product (3 x 2f).
        let ffn = shape.ffnActivation == .swiglu ? 6 * f : 4 * f
        let split = sb * (4 * h + 4 * kv + ffn)
        // Attention scores: softmax output (2), dropout mask (1), dropout output (2) bytes per score: 5 a s^2 b.
        let scores = (recompute == .selective || flashAttention)
            ? 0 : 5 * Double(shape.headCount) * Double(sequenceLength) * sb
        return replicated / (sequenceParallel ? t : 1) + (split + scores) / t
    }
}
