import CNumerics

/// Process-wide allocator settings for tensor-sized buffers.
///
/// glibc serves big allocations (more than 128 KB, adjusted dynamically) with fresh `mmap`s and
/// gives freed heap back to the kernel, so every op that allocates a multi-megabyte output pays
/// again for page faults and kernel zeroing — measured at about a quarter of the CPU time of a
/// broadcast multiply's forward and backward on a `(32, 64, 28, 28)` tensor. ``configure`` raises
/// the mmap threshold to 32 MB (glibc's maximum) and the trim threshold to 512 MB, so freed tensor
/// storage is reused from the heap. It runs once, the first time an op allocates through
/// ``Tensor/filling(_:_:)`` or runs a ``Parallel`` loop; programs may touch it at start-up.
/// No effect on platforms other than glibc.
public enum Allocator {
    public static let configure: Void = {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 512 << 20)
        #endif
    }()
}
