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
}
