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
}
