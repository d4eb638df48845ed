#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Reference {
    public static func attend(query: UnsafePointer<Float>, keyBase: UnsafePointer<Float>, valueBase: UnsafePointer<Float>,
                              positionStride: Int, keys: Range<Int>, headDim: Int, scale: Float,
                              scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let logits = keys.map { position -> Double in
            var s: Double = 0
            for d in 0..<headDim { s += Double(query[d]) * Double(keyBase[position * positionStride + d]) }
            return s * Double(scale)
        }
        let maximum = logits.max() ?? 0
        let weights = logits.map { libmExp($0 - maximum) }
        let total = weights.reduce(0, +)
        for d in 0..<headDim {
            var sum: Double = 0
            for (j, position) in keys.enumerated() { sum += weights[j] / total * Double(valueBase[position * positionStride + d]) }
            out[d] = Float(sum)
        }
    }

    public static func geluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = Double(gate[i])
            gate[i] = Float(0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) * Double(up[i]))
        }
    }

    public static func siluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = Double(gate[i])
            gate[i] = Float(x / (1 + libmExp(-x)) * Double(up[i]))
        }
    }
}

@inline(__always) private func libmExp(_ x: Double) -> Double { exp(x) }
