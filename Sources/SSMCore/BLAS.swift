import CNumerics

/// Thin wrappers over OpenBLAS single-precision GEMM (row-major).
public enum BLAS {
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
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}
