#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes that outlive every view into them: a memory-mapped file, or a private copy.
/// Immutable after creation, so it may be shared across threads.
final class ByteStorage: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    /// Whether `bytes` is a mapping of a file, whose pages can be dropped and read again.
    private let mapped: Bool
    private let release: @Sendable (UnsafeRawBufferPointer) -> Void

    private init(bytes: UnsafeRawBufferPointer, mapped: Bool, release: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.bytes = bytes
        self.mapped = mapped
        self.release = release
    }

    /// Drops the whole pages within `range` (a part of `bytes`) from memory, if mapped from a file: a
    /// private read-only mapping reads them from the file again if touched. Returns the bytes dropped.
    func releasePages(_ range: UnsafeRawBufferPointer) -> Int {
        guard mapped, let start = range.baseAddress else { return 0 }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + range.count) / page * page
        guard end > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return 0 }
        return madvise(address, end - first, MADV_DONTNEED) == 0 ? end - first : 0
    }

    deinit { release(bytes) }

    /// Maps the whole file read-only. Pages come in on first touch, so opening is O(1) in the file size
    /// and tensor data is never copied.
    static func map(path: String) throws -> ByteStorage {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 { return copy([]) }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        // Asks for 2 MB pages. Where this mapping's faults read the file into the page cache, they read it
        // in 2 MB pieces and map each with one TLB entry. On a 2-core AMD EPYC (Zen 5) the default model
        // decoded 1.07 times as fast with one thread and 1.06 with two from a copy read in this way as
        // from a copy just written, whose cached pieces are small (five alternating pairs of runs; on an
        // Intel Xeon it made no difference). Pages already cached stay as they are, which is why
        // `Scripts/install-model.sh` drops the model it writes from the cache.
        _ = madvise(address, size, MADV_HUGEPAGE)
        #endif
        return ByteStorage(bytes: UnsafeRawBufferPointer(start: address, count: size), mapped: true) { bytes in
            _ = munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
        }
    }

    /// A private copy of `source`, for files built in memory (tests, the writer's round trips).
    static func copy(_ source: [UInt8]) -> ByteStorage {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 64)
        source.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return ByteStorage(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<source.count]), mapped: false) { bytes in
            UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
        }
    }
}
