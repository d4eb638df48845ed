import Foundation
import PhoenixKernels
import PhoenixTestSupport
import Testing

@Suite struct VectorMathTests {
    /// e^x within 4e-7 relative of libm's double-precision exp, across the whole range the kernel accepts.
    @Test(arguments: [(-87.0, -10.0), (-10.0, 10.0), (-1.0, 1.0), (10.0, 88.0)] as [(Double, Double)])
    func expMatchesLibm(range: (Double, Double)) {
        var rng = SplitMix64(seed: UInt64(bitPattern: Int64(range.0 * 100)))
        for _ in 0..<2_000 {
            let lanes = (0..<8).map { _ in Float(Double.random(in: range.0...range.1, using: &rng)) }
            let fast = Kernels.exp(SIMD8<Float>(lanes))
            for lane in 0..<8 {
                let expected = Foundation.exp(Double(lanes[lane]))
                #expect(abs(Double(fast[lane]) - expected) <= 4e-7 * expected, "exp(\(lanes[lane]))")
            }
        }
    }

    @Test func expAndTanhAtTheEdges() {
        let x = SIMD8<Float>(0, -0.0, 1, -1, 200, -200, 1e-8, -1e-8)
        let e = Kernels.exp(x)
        #expect(e[0] == 1 && e[1] == 1 && e[4].isFinite && e[4] > 1e38 && e[5] >= 0 && e[5] < 1e-37)
        let t = Kernels.tanh(x)
        for lane in 0..<8 { #expect(abs(Double(t[lane]) - Foundation.tanh(Double(x[lane]))) <= 2e-7) }
    }
}
