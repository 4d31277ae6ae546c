import CNumerics
import Foundation

/// A dense complex matrix in `Double`, row-major, for the small per-feature linear algebra of the
/// DPLR kernel and the HiPPO initialisations (N × N with N ≤ a few hundred). Decompositions call
/// LAPACK (through OpenBLAS).
struct ComplexMatrix {
    let rows: Int, cols: Int
    var data: [Complex64]

    init(rows: Int, cols: Int, data: [Complex64]? = nil) {
        self.rows = rows; self.cols = cols
        self.data = data ?? [Complex64](repeating: Complex64(0), count: rows * cols)
        precondition(self.data.count == rows * cols, "ComplexMatrix: \(self.data.count) values for \(rows)×\(cols)")
    }

    static func identity(_ n: Int) -> ComplexMatrix {
        var m = ComplexMatrix(rows: n, cols: n)
        for i in 0..<n { m[i, i] = .one }
        return m
    }

    subscript(i: Int, j: Int) -> Complex64 {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }

    static func * (a: ComplexMatrix, b: ComplexMatrix) -> ComplexMatrix {
        precondition(a.cols == b.rows, "ComplexMatrix product \(a.rows)×\(a.cols) · \(b.rows)×\(b.cols)")
        var out = ComplexMatrix(rows: a.rows, cols: b.cols)
        for i in 0..<a.rows { for k in 0..<a.cols {
            let x = a[i, k]
            if x.re == 0 && x.im == 0 { continue }
            for j in 0..<b.cols { out.data[i * b.cols + j] += x * b.data[k * b.cols + j] }
        }}
        return out
    }

    var transpose: ComplexMatrix {
        var t = ComplexMatrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t[j, i] = self[i, j] } }
        return t
    }

    var adjoint: ComplexMatrix {
        var t = ComplexMatrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t[j, i] = self[i, j].conjugate } }
        return t
    }

    /// Column-major interleaved doubles (LAPACK layout).
    var lapack: [Double] {
        var out = [Double](repeating: 0, count: 2 * rows * cols)
        for i in 0..<rows { for j in 0..<cols { out[2 * (j * rows + i)] = self[i, j].re; out[2 * (j * rows + i) + 1] = self[i, j].im } }
        return out
    }

    init(lapack a: [Double], rows: Int, cols: Int) {
        self.init(rows: rows, cols: cols)
        for i in 0..<rows { for j in 0..<cols { self[i, j] = Complex64(a[2 * (j * rows + i)], a[2 * (j * rows + i) + 1]) } }
    }

    /// Eigen-decomposition of a Hermitian matrix: eigenvalues ascending and the unit eigenvectors as columns.
    func hermitianEigen() -> (values: [Double], vectors: ComplexMatrix) {
        precondition(rows == cols, "hermitianEigen needs a square matrix")
        var n = Int32(rows), a = lapack, w = [Double](repeating: 0, count: rows), info: Int32 = 0
        var lwork = Int32(-1), query = [Double](repeating: 0, count: 2), rwork = [Double](repeating: 0, count: max(1, 3 * rows - 2))
        zheev_("V", "U", &n, &a, &n, &w, &query, &lwork, &rwork, &info, 1, 1)
        lwork = Int32(max(1, Int(query[0])))
        var work = [Double](repeating: 0, count: 2 * Int(lwork))
        zheev_("V", "U", &n, &a, &n, &w, &work, &lwork, &rwork, &info, 1, 1)
        precondition(info == 0, "zheev failed (info \(info))")
        return (w, ComplexMatrix(lapack: a, rows: rows, cols: cols))
    }

    /// Eigenvalues and right eigenvectors (columns) of a general matrix; `nil` if LAPACK fails.
    func eigen() -> (values: [Complex64], vectors: ComplexMatrix)? {
        precondition(rows == cols, "eigen needs a square matrix")
        var n = Int32(rows), a = lapack, info: Int32 = 0, one: Int32 = 1
        var w = [Double](repeating: 0, count: 2 * rows), vl = [Double](repeating: 0, count: 2)
        var vr = [Double](repeating: 0, count: 2 * rows * rows), rwork = [Double](repeating: 0, count: 2 * rows)
        var lwork = Int32(-1), query = [Double](repeating: 0, count: 2)
        zgeev_("N", "V", &n, &a, &n, &w, &vl, &one, &vr, &n, &query, &lwork, &rwork, &info, 1, 1)
        lwork = Int32(max(1, Int(query[0])))
        var work = [Double](repeating: 0, count: 2 * Int(lwork))
        zgeev_("N", "V", &n, &a, &n, &w, &vl, &one, &vr, &n, &work, &lwork, &rwork, &info, 1, 1)
        guard info == 0 else { return nil }
        return ((0..<rows).map { Complex64(w[2 * $0], w[2 * $0 + 1]) }, ComplexMatrix(lapack: vr, rows: rows, cols: rows))
    }

    /// `X` with `self · X = b`; `nil` when the matrix is singular.
    func solve(_ b: ComplexMatrix) -> ComplexMatrix? {
        precondition(rows == cols && b.rows == rows, "solve: shapes \(rows)×\(cols), \(b.rows)×\(b.cols)")
        var n = Int32(rows), nrhs = Int32(b.cols), a = lapack, x = b.lapack, info: Int32 = 0
        var ipiv = [Int32](repeating: 0, count: rows)
        zgesv_(&n, &nrhs, &a, &n, &ipiv, &x, &n, &info)
        guard info == 0 else { return nil }
        return ComplexMatrix(lapack: x, rows: b.rows, cols: b.cols)
    }
}
