import CNumerics

/// Process-wide settings for numerical work.
public enum Runtime {
    /// Keeps large tensor buffers in the heap instead of fresh `mmap`s.
    ///
    /// glibc serves allocations above 128 KiB with `mmap` and returns them with `munmap`, so every
    /// intermediate tensor of a layer would page-fault its memory in again, zeroed by the kernel —
    /// measured as ~12% of an S4ND training step. Raising the mmap threshold to its maximum (32 MiB
    /// on 64-bit) and the trim threshold lets freed buffers be reused. Idempotent; call once early.
    public static func configure() { _ = configured }

    private static let configured: Bool = {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        #endif
        return true
    }()
}
