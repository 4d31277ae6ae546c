import CNumerics

/// Single-precision GEMM (row-major) over OpenBLAS.
///
/// OpenBLAS is switched to one thread the first time ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// or a ``Parallel`` loop runs: all parallelism goes through ``Parallel``'s Dispatch workers, so
/// two thread pools never compete for the cores (OpenBLAS's idle workers spin in `sched_yield`,
/// measured at a quarter of the CPU time of S4ND inference when both pools were active). A GEMM
/// of at least ``splitFlops`` multiply-adds called outside a parallel loop is split into column
/// (or row) blocks across the workers instead.
public enum BLAS {
    /// Switches OpenBLAS to a single thread, once.
    public static let configure: Void = { openblas_set_num_threads(1) }()

    /// `m·n·k` from which a GEMM outside a parallel loop is split across the workers.
    public static let splitFlops = 1 << 20

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major, where `op(X)` is `X` or `Xᵀ`.
    /// `op(A)` is `(m, k)`, `op(B)` is `(k, n)`, `C` is `(m, n)`; `lda`, `ldb`, `ldc` are the
    /// row strides of the matrices as stored.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS would only scale C; do it explicitly (some builds skip the call entirely).
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        _ = configure
        if m * n * k >= splitFlops && Parallel.maxThreads > 1 && !Parallel.isActive {
            // Blocks of C: along n (B's columns) when wide, else along m (A's rows); 16-aligned.
            let alongN = n >= m
            let extent = alongN ? n : m
            let pieces = Swift.max(1, Swift.min(2 * Parallel.maxThreads, extent / 16))
            Parallel.forEach(pieces) { p in
                let lo = (extent * p / pieces) & ~15, hi = p == pieces - 1 ? extent : (extent * (p + 1) / pieces) & ~15
                if hi <= lo { return }
                if alongN {
                    gemm(transA, transB, m, hi - lo, k, alpha, a, lda, b + (transB ? lo * ldb : lo), ldb, beta, c + lo, ldc)
                } else {
                    gemm(transA, transB, hi - lo, n, k, alpha, a + (transA ? lo : lo * lda), lda, b, ldb, beta, c + lo * ldc, ldc)
                }
            }
            return
        }
        gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    @inline(__always)
    static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                     _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Number of threads OpenBLAS uses for one call (1 under the policy above; benchmarks may
    /// raise it to measure the library alone).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}
