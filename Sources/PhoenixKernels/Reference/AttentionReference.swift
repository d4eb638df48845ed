#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Reference {
    /// The definition of `Kernels.attend`, in double precision, finding every position's row by itself.
    public static func attend(query: UnsafePointer<Float>, keys: KVBlocks, values: KVBlocks, positions: Range<Int>,
                              headDim: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        func value(_ store: KVBlocks, _ position: Int, _ d: Int) -> Double {
            let block = Int(store.blockTable[position / store.blockSize])
            let index = (block * store.blockSize + position % store.blockSize) * store.positionStride + d
            switch store.precision {
            case .f16: return Double(store.base.assumingMemoryBound(to: Float16.self)[index])
            case .f32: return Double(store.base.assumingMemoryBound(to: Float.self)[index])
            }
        }
        let logits = positions.map { position -> Double in
            var s: Double = 0
            for d in 0..<headDim { s += Double(query[d]) * value(keys, position, d) }
            return s * Double(scale)
        }
        let maximum = logits.max() ?? 0
        let weights = logits.map { libmExp($0 - maximum) }
        let total = weights.reduce(0, +)
        for d in 0..<headDim {
            var sum: Double = 0
            for (j, position) in positions.enumerated() { sum += weights[j] / total * value(values, position, d) }
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
