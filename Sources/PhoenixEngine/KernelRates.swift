import Dispatch
import PhoenixGGUF
import PhoenixKernels
import PhoenixModels
import PhoenixQuant

/// How fast one weight format's decode product runs when memory is not what limits it: the one-token
/// matrix-vector product (`Kernels.matmul` with one decode token, as a decode step calls it) over a
/// matrix small enough to stay in the caches, read over and over.
///
/// A decode step cannot read a format's weights faster than its kernel computes with them, nor faster
/// than memory delivers them, so the smaller of this rate and the memory read rate bounds each format's
/// share of the step (`KernelRates.decodeCeiling`).
public struct KernelRateResult: Sendable, Codable, Equatable {
    public var test = "kernel-rate"
    /// The GGUF type name, e.g. "Q5_0".
    public var format: String
    public var threads: Int
    /// The matrices of this format one decode step multiplies with, and their bytes.
    public var matrices: Int
    public var bytesPerToken: Int
    /// The matrix timed (its first rows, at most `KernelRates.cachedBytes` unless one row is larger) and
    /// the bytes timed.
    public var matrix: String
    public var matrixBytes: Int
    /// Median over repetitions, in 10⁹ weight bytes per second.
    public var gigabytesPerSecond: Double
    public var samplesGigabytesPerSecond: [Double]
    public var cpu: String

    public init(format: String, threads: Int, matrices: Int, bytesPerToken: Int, matrix: String, matrixBytes: Int,
                gigabytesPerSecond: Double, samplesGigabytesPerSecond: [Double], cpu: String) {
        self.format = format
        self.threads = threads
        self.matrices = matrices
        self.bytesPerToken = bytesPerToken
        self.matrix = matrix
        self.matrixBytes = matrixBytes
        self.gigabytesPerSecond = gigabytesPerSecond
        self.samplesGigabytesPerSecond = samplesGigabytesPerSecond
        self.cpu = cpu
    }
}

public enum KernelRates {
    /// The most bytes of a matrix timed: 2 MiB, within the last-level cache of the CPUs this runs on.
    public static let cachedBytes = 2 << 20

    /// Times each format of the matrices a decode step of `model` multiplies with, on `threads` threads
    /// (0: every available core), `repetitions` times (each at least 256 MiB of weights), after one
    /// untimed run. Formats in the order of their bytes per token, largest first.
    public static func measure(_ model: LoadedModel, threads: Int = 0, repetitions: Int = 5) throws -> [KernelRateResult] {
        guard repetitions >= 1 else { throw EngineError.invalidParameter("repetitions must be at least 1") }
        let pool = ThreadPool(threadCount: threads > 0 ? threads : ThreadPool.availableCores)
        let groups = Dictionary(grouping: decodeMatrices(model.file), by: \.type)
        let bytesPerToken = groups.mapValues { tensors in tensors.reduce(0) { $0 + $1.byteCount } }
        var results: [KernelRateResult] = []
        for (type, tensors) in groups.sorted(by: { bytesPerToken[$0.key]! > bytesPerToken[$1.key]! }) {
            let largest = tensors.max { $0.byteCount < $1.byteCount }!
            let rowBytes = largest.byteCount / largest.rowCount
            let rows = max(1, min(largest.rowCount, cachedBytes / rowBytes))
            let bytes = UnsafeRawBufferPointer(rebasing: model.file.data(for: largest)[0..<rows * rowBytes])
            let samples = withMatrix(bytes, of: largest, in: model.file, rows: rows) { matrix in
                time(matrix, pool: pool, repetitions: repetitions)
            }
            results.append(KernelRateResult(format: type.description, threads: pool.threadCount, matrices: tensors.count,
                                            bytesPerToken: bytesPerToken[type]!, matrix: largest.name,
                                            matrixBytes: bytes.count, gigabytesPerSecond: median(samples),
                                            samplesGigabytesPerSecond: samples, cpu: BenchmarkEnvironment.cpuModelName()))
        }
        return results
    }

    /// The weight read rate a decode step could reach if each format ran at the smaller of its kernel
    /// rate and `memoryGigabytesPerSecond`: the formats' bytes over the sum of their times at those rates.
    /// Everything else a step does (attention, norms, waits) is left out, so this is an upper bound.
    public static func decodeCeiling(_ rates: [KernelRateResult], memoryGigabytesPerSecond memory: Double) -> Double {
        let bytes = rates.reduce(0.0) { $0 + Double($1.bytesPerToken) }
        let seconds = rates.reduce(0.0) { $0 + Double($1.bytesPerToken) / min($1.gigabytesPerSecond, memory) }
        return seconds > 0 ? bytes / seconds : 0
    }

    /// The matrices a decode step multiplies with: every tensor of two or more dimensions, the token
    /// embedding only when it is also the output matrix (tied). Formats without a 16-bit decode kernel
    /// are timed too, through the float path `Kernels.matmul` takes for them.
    static func decodeMatrices(_ file: GGUFFile) -> [GGUFTensorInfo] {
        let tied = file.tensor(named: "output.weight") == nil
        return file.tensors.filter { $0.dimensions.count >= 2 && (tied || $0.name != "token_embd.weight") }
    }

    /// The first `rows` rows of `tensor` (`bytes`) as a matrix in the layout the model multiplies with:
    /// rearranged into memory of its own where the model holds it so (`RepackedWeights`).
    static func withMatrix<R>(_ bytes: UnsafeRawBufferPointer, of tensor: GGUFTensorInfo, in file: GGUFFile, rows: Int,
                              _ body: (WeightMatrix) -> R) -> R {
        let layout = RepackedWeights.layout(of: tensor, in: file)
        guard layout == .q5_0RowPairs else {
            return body(WeightMatrix(type: tensor.type, rows: rows, columns: tensor.rowLength, bytes: bytes))
        }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        defer { copy.deallocate() }
        Kernels.Q5_0RowPairs.repack(bytes.baseAddress!, rows: rows, rowBytes: bytes.count / rows, into: copy.baseAddress!)
        return body(WeightMatrix(type: tensor.type, rows: rows, columns: tensor.rowLength, bytes: UnsafeRawBufferPointer(copy),
                                 layout: layout))
    }

    /// Rates in GB/s of `repetitions` timed runs, each of enough products to read 256 MiB.
    static func time(_ matrix: WeightMatrix, pool: ThreadPool, repetitions: Int) -> [Double] {
        let bytes = matrix.rows * matrix.rowBytes, products = max(1, (256 << 20) / bytes)
        var random = SeededRandom(seed: 7)
        let x = (0..<matrix.columns).map { _ in Float(random.next(below: 2001)) / 1000 - 1 }
        var out = [Float](repeating: 0, count: matrix.rows)
        func run() {
            for _ in 0..<products { Kernels.matmul(matrix, x, tokens: 1, into: &out, decodeTokens: 1, pool: pool) }
        }
        run()  // warm-up: the matrix into the caches
        return (0..<repetitions).map { _ in
            let start = DispatchTime.now()
            run()
            return Double(products * bytes) / GenerationContext.seconds(since: start) / 1e9
        }
    }

    static func median(_ samples: [Double]) -> Double {
        let sorted = samples.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
