#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PhoenixGGUF
import PhoenixKernels
import PhoenixQuant

/// The layers' weight matrices, held in memory of the model's own instead of read from the file's
/// mapping, where the CPU runs the 512-bit kernel for Q5_0 in the row-pair layout
/// (`Kernels.Q5_0RowPairs`): the Q5_0 matrices rearranged into it, the others copied as they are.
///
/// Why all of a layer's matrices and not only the Q5_0 ones: the file's mapping holds the file in
/// 2 MB pages where it can (`ByteStorage.map`), and touching any byte of such a page maps all of it
/// again. Pages dropped between the other matrices came straight back, and the process held 17 of the
/// 44 MB twice. Once every layer tensor is held here (or copied, as the norms are), the file's pages of
/// the layers are dropped (`releaseFilePages`) and stay out: the process holds each weight once. One
/// anonymous mapping holds the matrices, asking for 2 MB pages too. The token embedding and output
/// matrices stay in the file's mapping.
public final class RepackedWeights: @unchecked Sendable {
    /// Whether models hold their layers' matrices here where they can: unless the environment sets
    /// `PHOENIX_REPACK=0`, which keeps every matrix in the file's mapping and layout, to measure what
    /// the layout buys (the tests also compare both ways). Nor do they where `PHOENIX_WIDE_KERNELS=0`
    /// keeps the 512-bit kernels off, as on a CPU without them.
    nonisolated(unsafe) static var isEnabled = getenv("PHOENIX_REPACK").map { String(cString: $0) != "0" } ?? true

    private let mappedBytes: Int
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    /// The matrices held so far, by tensor name: a tensor asked for twice is held once.
    private var matrices: [String: WeightMatrix] = [:]

    /// Whether `tensor` is one of a layer's matrices (GGUF's "blk.N." tensors of two dimensions).
    static func holds(_ tensor: GGUFTensorInfo) -> Bool {
        tensor.name.hasPrefix("blk.") && tensor.dimensions.count == 2
    }

    /// Whether `tensor` is rearranged into the row-pair layout.
    static func repacks(_ tensor: GGUFTensorInfo) -> Bool {
        holds(tensor) && tensor.type == .q5_0 && tensor.dimensions[1] >= 2
    }

    /// Whether a model of `file` holds its layers' matrices here.
    static func used(for file: GGUFFile) -> Bool {
        isEnabled && Kernels.wideKernelsAvailable && !Kernels.wideKernelsRefused && WeightLayout.rowPairsSupported
            && file.tensors.contains(where: repacks)
    }

    /// The layout in which a model of `file` multiplies with `tensor`, one of its matrices.
    public static func layout(of tensor: GGUFTensorInfo, in file: GGUFFile) -> WeightLayout {
        repacks(tensor) && used(for: file) ? .q5_0RowPairs : .gguf
    }

    /// Room for the layers' matrices of `file`; nil (the matrices stay in the file's mapping) where the
    /// 512-bit kernels do not run or no layer matrix is Q5_0.
    init?(for file: GGUFFile) {
        guard Self.used(for: file) else { return nil }
        let bytes = file.tensors.filter(Self.holds).reduce(0) { $0 + ($1.byteCount + 63) / 64 * 64 }
        let hugePage = 2 << 20, page = Int(getpagesize())
        // Mapped 2 MB longer than needed, so that the part used can start on a 2 MB boundary; the rest
        // is unmapped again.
        let length = (bytes + page - 1) / page * page
        guard let address = mmap(nil, length + hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              address != MAP_FAILED else { return nil }
        let start = (Int(bitPattern: address) + hugePage - 1) / hugePage * hugePage
        let before = start - Int(bitPattern: address)
        if before > 0 { munmap(address, before) }
        munmap(address + before + length, hugePage - before)
        base = UnsafeMutableRawPointer(bitPattern: start)!
        mappedBytes = length
        #if os(Linux)
        // Only over whole 2 MB pages: a last partial one would take all its 2 MB.
        if bytes >= hugePage { _ = madvise(base, bytes / hugePage * hugePage, MADV_HUGEPAGE) }
        #endif
        capacity = bytes
    }

    deinit { munmap(base, mappedBytes) }

    /// `tensor` of `file` (one that `holds`) as a matrix of `rows` × `columns`, held here: rearranged if
    /// it `repacks`, else copied.
    func matrix(_ tensor: GGUFTensorInfo, of file: GGUFFile, rows: Int, columns: Int) -> WeightMatrix {
        if let matrix = matrices[tensor.name] { return matrix }
        let source = file.data(for: tensor), size = (source.count + 63) / 64 * 64
        precondition(used + size <= capacity, "RepackedWeights: \(tensor.name) does not fit")
        let target = base + used
        used += size
        let layout: WeightLayout = Self.repacks(tensor) ? .q5_0RowPairs : .gguf
        if layout == .q5_0RowPairs {
            Kernels.Q5_0RowPairs.repack(source.baseAddress!, rows: rows, rowBytes: source.count / rows, into: target)
        } else {
            target.copyMemory(from: source.baseAddress!, byteCount: source.count)
        }
        let matrix = WeightMatrix(type: tensor.type, rows: rows, columns: columns,
                                  bytes: UnsafeRawBufferPointer(start: target, count: source.count), layout: layout)
        matrices[tensor.name] = matrix
        return matrix
    }

    /// Drops the file's pages of every layer tensor: the matrices are held here and the vectors were
    /// copied when the model loaded. Call once the model has read all it needs from the file.
    func releaseFilePages(of file: GGUFFile) {
        for tensor in file.tensors where tensor.name.hasPrefix("blk.") { file.releasePages(of: tensor) }
    }
}
