#if arch(x86_64)
import CPhoenixX86

/// How the one-token decode kernels, 256-bit and 512-bit, ask for their weights before they read them:
/// each 64-byte line of a thread's chunk of rows once, in order, `distance` bytes ahead of how far the
/// kernel has read, never past `end` (the next chunk may be another thread's). The chunk's rows lie one
/// after another, so how far a kernel has read is one position in its bytes. The chunk's first
/// `distance` bytes are asked for at once, before the kernel starts (`Kernels.prefetchStart`).
///
/// It holds no 512-bit code: it is inlined into both kernel modules, each built for its own CPU.
@frozen
public struct LineRequests {
    @usableFromInline var next: UnsafeRawPointer
    @usableFromInline let end: UnsafeRawPointer
    @usableFromInline let distance: Int

    /// Requests for the chunk [start, end), from its first `distance` bytes on.
    @inlinable
    public init(start: UnsafeRawPointer, end: UnsafeRawPointer, distance: Int) {
        next = min(start + distance, end)
        self.end = end
        self.distance = distance
    }

    /// Asks for every line not yet asked for, up to `distance` bytes past `position`.
    @inlinable @inline(__always)
    public mutating func ask(readingAt position: UnsafeRawPointer) {
        let target = min(position + distance, end)
        while next < target {
            phoenix_prefetch(next)
            next += 64
        }
    }
}
#endif
