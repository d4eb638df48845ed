import CPhoenixX86

/// Every hot loop of the forward pass. Each kernel has a plain scalar twin in `Reference` with the same
/// signature, and a test compares the two at odd sizes.
///
/// Kernels take unsafe pointers in, allocate nothing and never trap on valid sizes; the caller owns the
/// memory. The portable `SIMD8<Float>` code compiles to AVX2/FMA when the module is built for a CPU that
/// has them (see Package.swift).
public enum Kernels {}

/// The scalar definitions the kernels are tested against: readable, never optimized.
public enum Reference {}

extension Kernels {
    /// Asks for the cache line at `p` to be brought into the caches: a hint, which never faults, even
    /// past the end of a buffer.
    @inlinable @inline(__always)
    public static func prefetch(_ p: UnsafeRawPointer) { phoenix_prefetch(p) }

    /// How far ahead of what they read the decode kernels ask for a matrix's bytes, and how much of a
    /// chunk `prefetchStart` asks for at once. A decode step reads each weight once, from memory, and
    /// on a 2-core AMD EPYC (Zen 5, 40 GB/s to one core) the kernels' requests had to be far ahead to
    /// keep the reads going while they compute: one thread decoded the default model 1.30 times as fast
    /// with requests 12 KB ahead as with 4 KB (16, 24 and 32 KB: 1.30–1.33), two threads 1.03 times
    /// (32 KB: 0.98). Nine paired runs in one process.
    @usableFromInline static let prefetchDistance = 12288

    /// `prefetchDistance` for the 512-bit decode kernels (`WideKernels`), which ask for each line once
    /// (`LineRequests`) and compute faster: on the same Zen 5, tg128 ran 1.018–1.026 times as fast with
    /// one thread and 1.008–1.027 with two (median 1.017; cores near and far apart) with requests 8 KB
    /// ahead as with 12 KB, token by token alternating in one process; against 8 KB, 6 KB ran
    /// 0.983–1.007 times as fast with one thread (median 0.992) and 0.99–1.01 with two, 10 KB 0.989–0.997
    /// and 0.978–0.994; 24 KB against 12 KB, 0.95–0.97. The 256-bit kernels keep 12 KB: against it, 8 KB
    /// ran 0.988–0.994 times as fast with one thread, 16 KB 0.985–0.989 with one and 0.975–0.995 with two.
    @usableFromInline static let widePrefetchDistance = 8192
}
