/// PhoenixPlanner/TransformerShape.swift. A decoder-only transformer as the cost models see it, with its
/// parameter count and FLOPs. The FLOP counts follow Narayanan et al. 2021 (Section 5.1, eq. 3) and
/// Korthikanti et al. 2022 (Section 6, Appendix A): only matrix multiplications count; attention scores and
/// attention-over-values are counted over the full s x s square, as the papers do.
public struct TransformerShape: Sendable, Equatable, Codable {
    public enum FFNActivation: String, Sendable, Codable { case gelu, swiglu }

    public var layerCount: Int
    public var embeddingDim: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var ffnDim: Int
    public var ffnActivation: FFNActivation

    public init(layerCount: Int, embeddingDim: Int, headCount: Int, kvHeadCount: Int? = nil, vocabSize: Int,
                contextLength: Int, ffnDim: Int? = nil, ffnActivation: FFNActivation = .gelu) {
        self.layerCount = layerCount
        self.embeddingDim = embeddingDim
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount ?? headCount
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ffnDim = ffnDim ?? 4 * embeddingDim
        self.ffnActivation = ffnActivation
    }

    public var headDim: Int { embeddingDim / headCount }
    /// Width of the K (or V) projection: `kvHeadCount * headDim`.
    public var kvDim: Int { kvHeadCount * headDim }
    var ffnMatrixCount: Int { ffnActivation == .swiglu ? 3 : 2 }

    /// Weights in one layer: Q, K, V, O projections, FFN matrices, two norms (with biases as GPT has them).
    public var parametersPerLayer: Double {
        let h = Double(embeddingDim), kv = Double(kvDim), f = Double(ffnDim)
        let attention = h * (h + 2 * kv) + h * h + (h + 2 * kv) + h      // weights + biases
        let ffn = Double(ffnMatrixCount) * h * f + f + h
        return attention + ffn + 4 * h                                    // two norms: scale + shift
    }

    /// All weights: layers, token embedding (tied with the output layer), learned positions, final norm.
    /// For GPT-3 shapes this is Narayanan et al.'s eq. 2: P = 12lh^2 (1 + 13/(12h) + (V+s)/(12lh)).
    public var parameterCount: Double {
        let h = Double(embeddingDim)
        return Double(layerCount) * parametersPerLayer + Double(vocabSize + contextLength) * h + 2 * h
    }

    /// Forward matmul FLOPs of one layer for `tokens` tokens at sequence length `seq`.
    /// GPT-3 shape: 24 b s h^2 + 4 b s^2 h (Korthikanti et al. 2022, Appendix A).
    public func layerForwardFlops(tokens: Double, seq: Double) -> Double {
        let h = Double(embeddingDim), kv = Double(kvDim), f = Double(ffnDim)
        let projections = 2 * tokens * h * (h + 2 * kv) + 2 * tokens * h * h
        let scores = 4 * tokens * seq * h                                  // QK^T and softmax(.)V
        let ffn = 2 * tokens * h * f * Double(ffnMatrixCount)
        return projections + scores + ffn
    }

    /// Forward FLOPs of the output layer (logits) for `tokens` tokens: 2 b s h V.
    public func logitFlops(tokens: Double) -> Double { 2 * tokens * Double(embeddingDim) * Double(vocabSize) }

    /// Model FLOPs of one training iteration over `batch` sequences: forward + backward (2x forward), no recompute.
    /// For GPT-3 shapes: 72 B s l h^2 (1 + s/(6h) + V/(12hl)) (Korthikanti et al. 2022, eq. in Section 6.3).
    public func modelFlopsPerIteration(batch: Int) -> Double {
        let tokens = Double(batch * contextLength)
        return 3 * (Double(layerCount) * layerForwardFlops(tokens: tokens, seq: Double(contextLength)) + logitFlops(tokens: tokens))
    }

    /// Hardware FLOPs of one iteration: model FLOPs plus what recomputation redoes.
    /// Full recompute adds one layer forward per layer (Narayanan et al.: 96 B s l h^2 (...));
    /// selective recompute adds the attention core; the paper counts it as 12 B s^2 h per layer, which turns
    /// the model formula's 1 + s/(6h) into 1 + s/(3h) (Korthikanti et al. 2022, Section 6.3).
    public func hardwareFlopsPerIteration(batch: Int, recompute: Recompute) -> Double {
        let tokens = Double(batch * contextLength), seq = Double(contextLength), l = Double(layerCount)
        let extra: Double = switch recompute {
        case .none: 0
        case .selective: l * 12 * tokens * seq * Double(embeddingDim)
        case .full: l * layerForwardFlops(tokens: tokens, seq: seq)
        }
        return modelFlopsPerIteration(batch: batch) + extra
    }
}

/// Activation recomputation: none, the attention core only (Korthikanti et al. 2022), or every layer.
public enum Recompute: String, Sendable, Codable, CaseIterable { case none, selective, full }

/// Utilization of a run: achieved FLOP/s over the peak of every chip (Chowdhery et al. 2022, Appendix B;
/// Korthikanti et al. 2022, Section 6.3).
public enum Utilization {
    /// Model FLOPs utilization: counts the FLOPs the model needs, not what recomputation adds.
    public static func mfu(_ shape: TransformerShape, batch: Int, iterationSeconds: Double, gpus: Int,
                           peakFlopsPerSecond: Double) -> Double {
        shape.modelFlopsPerIteration(batch: batch) / (iterationSeconds * Double(gpus) * peakFlopsPerSecond)
    }

    /// Hardware FLOPs utilization: counts every FLOP executed, recomputation included.
    public static func hfu(_ shape: TransformerShape, batch: Int, recompute: Recompute, iterationSeconds: Double,
                           gpus: Int, peakFlopsPerSecond: Double) -> Double {
        shape.hardwareFlopsPerIteration(batch: batch, recompute: recompute)
            / (iterationSeconds * Double(gpus) * peakFlopsPerSecond)
    }
}
