import Testing
@testable import PhoenixPlanner

/// Alpha-beta costs against the closed forms of Thakur, Rabenseifner & Gropp 2005 ("Optimization of
/// Collective Communication Operations in MPICH", Section 4) and Patarasuk & Yuan 2009 (ring all-reduce).
@Suite struct CollectiveCostTests {
    let link = LinkCost(latencySeconds: 5e-6, bandwidthBytesPerSecond: 25e9)
    var a: Double { link.latencySeconds }
    var b: Double { 1 / link.bandwidthBytesPerSecond }

    @Test(arguments: [2, 8, 64], [1e3, 1e6, 1e9])
    func thakurFormulas(p: Int, n: Double) {
        let pd = Double(p), lg = log2(pd), share = (pd - 1) / pd
        let expected: [(Collective, CollectiveAlgorithm, Double)] = [
            (.allGather, .ring, (pd - 1) * a + share * n * b),                       // Section 4.1
            (.allGather, .recursiveDoubling, lg * a + share * n * b),                // Section 4.1
            (.broadcast, .binomialTree, lg * (a + n * b)),                           // Section 4.2
            (.reduceScatter, .recursiveHalvingDoubling, lg * a + share * n * b),     // Section 4.4, gamma left out
            (.allReduce, .recursiveDoubling, lg * a + lg * n * b),                   // Section 4.5
            (.allReduce, .recursiveHalvingDoubling, 2 * lg * a + 2 * share * n * b), // Rabenseifner, Section 4.5
            (.allReduce, .ring, 2 * (pd - 1) * a + 2 * share * n * b),               // Patarasuk & Yuan
        ]
        for (c, algorithm, t) in expected {
            let got = CollectiveCost.seconds(c, algorithm, bytes: n, ranks: p, link: link)!
            #expect(abs(got - t) <= 1e-12 * max(1, t), "\(c) \(algorithm)")
        }
    }

    // NCCL's tuning and MPICH's switch points (Thakur et al., Section 4.5): recursive doubling for short
    // all-reduces, a bandwidth-optimal algorithm (ring or Rabenseifner) for long ones.
    @Test func algorithmChoiceDependsOnMessageSize() {
        let short = CollectiveCost.best(.allReduce, bytes: 1024, ranks: 64, link: link)
        let long = CollectiveCost.best(.allReduce, bytes: 1e9, ranks: 64, link: link)
        #expect(short.algorithm == .recursiveDoubling)
        #expect(long.algorithm == .recursiveHalvingDoubling || long.algorithm == .ring)
        #expect(CollectiveCost.best(.allGather, bytes: 1024, ranks: 64, link: link).algorithm == .recursiveDoubling)
    }

    // nccl-tests PERFORMANCE.md: bus bandwidth = algorithm bandwidth x 2(n-1)/n for all-reduce and
    // x (n-1)/n for all-gather; a bandwidth-bound ring reaches bus bandwidth equal to the link's.
    @Test func ringBusBandwidthEqualsLinkBandwidth() {
        let noLatency = LinkCost(latencySeconds: 0, bandwidthBytesPerSecond: 300e9)
        for n in [2, 8, 16] {
            let bytes = 1e9, nd = Double(n)
            let t = CollectiveCost.seconds(.allReduce, .ring, bytes: bytes, ranks: n, link: noLatency)!
            #expect(abs(bytes / t * 2 * (nd - 1) / nd - 300e9) < 1)
            let g = CollectiveCost.seconds(.allGather, .ring, bytes: bytes, ranks: n, link: noLatency)!
            #expect(abs(bytes / g * (nd - 1) / nd - 300e9) < 1)
        }
    }

    @Test func hierarchicalAllReduceUsesBothLinks() throws {
        let h100 = try HardwareCatalogue.named("h100-sxm")
        let inside = CollectiveCost.onTopology(.allReduce, bytes: 1e9, ranks: 8, stride: 1, hardware: h100, linkEfficiency: 1)
        let across = CollectiveCost.onTopology(.allReduce, bytes: 1e9, ranks: 64, stride: 1, hardware: h100, linkEfficiency: 1)
        // Inside a node: ring over NVLink at 450 GB/s.
        #expect(abs(inside - (2 * 7.0 / 8 * 1e9 / 450e9)) / inside < 0.01)
        // Across 8 nodes the inter-node step carries 1/8 of the data on 50 GB/s NICs: slower than inside, far
        // faster than a flat ring over the NICs alone.
        let flat = 2 * 63.0 / 64 * 1e9 / 50e9
        #expect(across > inside && across < flat)
    }
}

import Foundation
