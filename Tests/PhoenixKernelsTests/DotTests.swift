import PhoenixKernels
import PhoenixTestSupport
import Testing

@Suite struct DotTests {
    @Test(arguments: [0, 1, 7, 8, 9, 31, 32, 33, 640, 4097])  // empty, tails, unroll edges
    func fastMatchesReference(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let (a, b) = (rng.floats(count), rng.floats(count))
        let expected = Reference.dot(a, b, count: count)
        #expect(abs(Kernels.dot(a, b, count: count) - expected) <= 1e-5 * max(1, Float(count).squareRoot()))
    }

    @Test(arguments: [1, 7, 8, 17, 257])
    func addScaledMatchesReference(count: Int) {
        var rng = SplitMix64(seed: 99 + UInt64(count))
        let x = rng.floats(count)
        var fast = rng.floats(count)
        var slow = fast
        Kernels.addScaled(x, scale: 0.37, into: &fast, count: count)
        Reference.addScaled(x, scale: 0.37, into: &slow, count: count)
        for i in 0..<count { #expect(abs(fast[i] - slow[i]) <= 1e-6) }
    }

    @Test(arguments: [1, 3, 8, 31, 640])
    func rmsNormMatchesReference(count: Int) {
        var rng = SplitMix64(seed: 7 + UInt64(count))
        let x = rng.floats(count, in: -4...4), weight = rng.floats(count, in: 0...2)
        var fast = [Float](repeating: 0, count: count), slow = fast
        Kernels.rmsNorm(x, weight: weight, eps: 1e-6, count: count, into: &fast)
        Reference.rmsNorm(x, weight: weight, eps: 1e-6, count: count, into: &slow)
        for i in 0..<count { #expect(abs(fast[i] - slow[i]) <= 1e-5 * max(1, abs(slow[i]))) }
    }

    @Test(arguments: [1, 5, 8, 33])
    func gatedActivationsMatchReference(count: Int) {
        var rng = SplitMix64(seed: 11 + UInt64(count))
        let gate = rng.floats(count, in: -6...6), up = rng.floats(count, in: -2...2)
        for (fastKernel, reference) in [(Kernels.geluGate, Reference.geluGate), (Kernels.siluGate, Reference.siluGate)] {
            var fast = gate, slow = gate
            fastKernel(&fast, up, count)
            reference(&slow, up, count)
            for i in 0..<count { #expect(abs(fast[i] - slow[i]) <= 1e-5 * max(1, abs(slow[i]))) }
        }
    }
}
