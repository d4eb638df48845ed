import Foundation

/// PhoenixPlanner/Collectives.swift. Alpha-beta costs of collective operations (Hockney's model: a message
/// of n bytes costs alpha + n * beta) for the algorithms of Thakur, Rabenseifner & Gropp 2005 (Section 4)
/// and the bandwidth-optimal ring (Patarasuk & Yuan 2009). Reduction arithmetic (their gamma) is not
/// counted: on GPUs it runs at memory bandwidth, far above any link.
public enum Collective: String, Sendable, CaseIterable, Codable {
    case allReduce = "all-reduce", reduceScatter = "reduce-scatter", allGather = "all-gather"
    case broadcast, allToAll = "all-to-all"
}

public enum CollectiveAlgorithm: String, Sendable, CaseIterable, Codable {
    case ring
    case binomialTree = "binomial-tree"
    case recursiveDoubling = "recursive-doubling"
    /// Recursive halving then doubling: Rabenseifner's reduce-scatter + all-gather for all-reduce.
    case recursiveHalvingDoubling = "recursive-halving-doubling"
}

/// One link class: latency per message (alpha) and per-direction bandwidth (1 / beta).
public struct LinkCost: Sendable, Equatable {
    public var latencySeconds: Double
    public var bandwidthBytesPerSecond: Double
    public init(latencySeconds: Double, bandwidthBytesPerSecond: Double) {
        self.latencySeconds = latencySeconds
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    }
}

public enum CollectiveCost {
    /// Seconds for `collective` over `ranks` ranks with `algorithm`. `bytes` is the full vector: the buffer
    /// each rank reduces (all-reduce, reduce-scatter input), the gathered result (all-gather), the broadcast
    /// buffer, or what each rank sends in total (all-to-all). Returns nil where the algorithm does not apply.
    /// Recursive algorithms use ceil(lg p) steps: exact for powers of two, as in the paper.
    public static func seconds(_ collective: Collective, _ algorithm: CollectiveAlgorithm, bytes n: Double,
                               ranks p: Int, link: LinkCost) -> Double? {
        guard p > 1 else { return 0 }
        let a = link.latencySeconds, b = 1 / link.bandwidthBytesPerSecond
        let pd = Double(p), lg = ceil(log2(pd)), share = (pd - 1) / pd
        switch (collective, algorithm) {
        case (.allReduce, .ring): return 2 * (pd - 1) * a + 2 * share * n * b
        case (.allReduce, .recursiveDoubling): return lg * a + lg * n * b
        case (.allReduce, .recursiveHalvingDoubling): return 2 * lg * a + 2 * share * n * b
        case (.allReduce, .binomialTree): return 2 * lg * (a + n * b)          // reduce, then broadcast
        case (.reduceScatter, .ring), (.allGather, .ring): return (pd - 1) * a + share * n * b
        case (.reduceScatter, .recursiveHalvingDoubling), (.allGather, .recursiveDoubling):
            return lg * a + share * n * b
        case (.broadcast, .binomialTree): return lg * (a + n * b)
        case (.broadcast, .ring): return (lg + pd - 1) * a + 2 * share * n * b  // scatter + ring all-gather
        case (.allToAll, .ring): return (pd - 1) * a + share * n * b           // pairwise exchange
        case (.allToAll, .recursiveDoubling): return lg * a + n / 2 * lg * b   // Bruck
        default: return nil
        }
    }

    /// The cheapest applicable algorithm for this message size, as NCCL's tuner and MPICH's switch points do:
    /// latency-optimal algorithms win short messages, bandwidth-optimal ones long messages.
    public static func best(_ collective: Collective, bytes: Double, ranks: Int, link: LinkCost)
        -> (algorithm: CollectiveAlgorithm, seconds: Double) {
        var winner: (algorithm: CollectiveAlgorithm, seconds: Double) = (.ring, .infinity)
        for algorithm in CollectiveAlgorithm.allCases {
            if let t = seconds(collective, algorithm, bytes: bytes, ranks: ranks, link: link), t < winner.seconds {
                winner = (algorithm, t)
            }
        }
        return winner
    }

    /// A collective over a group laid out on `hardware`: members `stride` apart in rank order (tensor
    /// parallel innermost). A group that fits one scale-up domain uses that link; a larger one runs
    /// hierarchically: reduce-scatter inside each node, the collective across nodes on 1/k of the data
    /// (every GPU's NIC at once), all-gather inside the node.
    public static func onTopology(_ collective: Collective, bytes: Double, ranks: Int, stride: Int,
                                  hardware: PlannerHardware, linkEfficiency: Double) -> Double {
        guard ranks > 1 else { return 0 }
        func cost(_ link: PlannerHardware.Link) -> LinkCost {
            LinkCost(latencySeconds: link.latencySeconds, bandwidthBytesPerSecond: link.bandwidthBytesPerSecond * linkEfficiency)
        }
        let domain = hardware.scaleUp.domain
        let local = max(1, min(ranks, domain / max(1, stride)))   // group members inside one node
        if local >= ranks { return best(collective, bytes: bytes, ranks: ranks, link: cost(hardware.scaleUp)).seconds }
        let nodes = (ranks + local - 1) / local
        let across = best(collective, bytes: bytes / Double(local), ranks: nodes, link: cost(hardware.scaleOut)).seconds
        guard local > 1 else { return best(collective, bytes: bytes, ranks: nodes, link: cost(hardware.scaleOut)).seconds }
        let up = cost(hardware.scaleUp)
        switch collective {
        case .allReduce:
            return best(.reduceScatter, bytes: bytes, ranks: local, link: up).seconds + across
                + best(.allGather, bytes: bytes, ranks: local, link: up).seconds
        case .reduceScatter: return best(.reduceScatter, bytes: bytes, ranks: local, link: up).seconds + across
        case .allGather: return across + best(.allGather, bytes: bytes, ranks: local, link: up).seconds
        case .broadcast: return across + best(.broadcast, bytes: bytes, ranks: local, link: up).seconds
        case .allToAll:
            // Each rank's data leaving the node crosses the NICs: (nodes - 1) / nodes of it.
            return best(.allToAll, bytes: bytes / Double(nodes), ranks: local, link: up).seconds
                + best(.allToAll, bytes: bytes * Double(nodes - 1) / Double(nodes), ranks: nodes, link: cost(hardware.scaleOut)).seconds
        }
    }
}
