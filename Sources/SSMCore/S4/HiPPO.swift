import Foundation

/// HiPPO state matrices and their normal-plus-low-rank (NPLR) form, for initialising the DPLR
/// kernel (the official `hippo.transition`, `rank_correction` and `nplr`).
public enum HiPPO {
    public enum Measure: String, CaseIterable, Sendable {
        /// Scaled Legendre: `A_nk = −√(2n+1)√(2k+1)` (n > k), `−(n+1)` (n = k), 0 above; `B_n = √(2n+1)`.
        case legs
        /// Translated Legendre (rank-2 correction), halved for timescale as the official code.
        case legt
        /// Translated Fourier (`fourier` upstream).
        case fout
    }

    /// Rank of the low-rank correction `P`.
    public static func rank(_ m: Measure) -> Int { m == .legt ? 2 : 1 }

    /// `(A, B, P)` for `N` states: `A` `N×N` (row-major), `B` `(N)`, `P` `(rank, N)`, real.
    static func transition(_ m: Measure, _ n: Int) -> (a: [Double], b: [Double], p: [[Double]]) {
        var a = [Double](repeating: 0, count: n * n), b = [Double](repeating: 0, count: n)
        var p: [[Double]] = []
        switch m {
        case .legs:
            for i in 0..<n {
                for k in 0..<n {
                    if i > k { a[i * n + k] = -((2 * Double(i) + 1) * (2 * Double(k) + 1)).squareRoot() }
                    else if i == k { a[i * n + k] = -(Double(i) + 1) }
                }
                b[i] = (2 * Double(i) + 1).squareRoot()
            }
            p = [(0..<n).map { (Double($0) + 0.5).squareRoot() }]
        case .legt:
            for i in 0..<n {
                let ri = (2 * Double(i) + 1).squareRoot()
                for k in 0..<n {
                    let rk = (2 * Double(k) + 1).squareRoot()
                    let sign: Double = i < k ? ((k - i) % 2 == 0 ? 1 : -1) : 1
                    a[i * n + k] = -0.5 * ri * sign * rk
                }
                b[i] = 0.5 * ri
            }
            let r = (0..<n).map { ((2 * Double($0) + 1) / 2).squareRoot() }
            p = [(0..<n).map { $0 % 2 == 1 ? r[$0] : 0 }, (0..<n).map { $0 % 2 == 0 ? r[$0] : 0 }]
        case .fout:
            precondition(n % 2 == 0, "the Fourier measure needs an even N")
            // d = [0, 0, 1, 0, 2, 0, 3, …] (length N − 1); A0 = π(−diag(d, +1) + diag(d, −1)).
            let d = (1..<n).map { i -> Double in i % 2 == 0 ? Double(i / 2) : 0 }
            for i in 0..<(n - 1) { a[i * n + i + 1] = -Double.pi * d[i]; a[(i + 1) * n + i] = Double.pi * d[i] }
            for i in 0..<n { b[i] = i == 0 ? 1 : (i % 2 == 0 ? 2.0.squareRoot() : 0) }
            for i in 0..<n { for k in 0..<n { a[i * n + k] -= b[i] * b[k] } }
            p = [b]
        }
        return (a, b, p)
    }

    /// The normal part of HiPPO-LegS at size `n` (S5's "HiPPO-N"): `S = A + P Pᵀ = −½·I + skew`,
    /// `Λ = −½ + i·eig(−i·skew)` for the `n/2` eigenvalues with negative imaginary part (most negative
    /// first) and their unit eigenvectors `V` `(n × n/2)`.
    static func normalLegS(_ n: Int) -> (lambda: [Complex64], v: ComplexMatrix) {
        precondition(n >= 2 && n % 2 == 0, "HiPPO-N needs an even size")
        let (a, _, p) = transition(.legs, n)
        var herm = ComplexMatrix(rows: n, cols: n)
        for i in 0..<n { for k in 0..<n where i != k { herm[i, k] = Complex64(0, -(a[i * n + k] + p[0][i] * p[0][k])) } }
        let (w, vFull) = herm.hermitianEigen()
        let half = n / 2
        var v = ComplexMatrix(rows: n, cols: half)
        for i in 0..<n { for k in 0..<half { v[i, k] = vFull[i, k] } }
        return ((0..<half).map { Complex64(-0.5, w[$0]) }, v)
    }

    /// The NPLR form `A = V (diag Λ − P̃ P̃ᴴ) Vᴴ` (conjugate pairs halved): `Λ` `(N/2)` with negative
    /// imaginary parts, `P̃` `(rank, N/2)`, `B̃` `(N/2)` with `Im B̃` clipped to ±2 (the official `B_clip`).
    static func nplr(_ m: Measure, _ n: Int) -> (lambda: [Complex64], p: [[Complex64]], b: [Complex64]) {
        precondition(n >= 2 && n % 2 == 0, "DPLR needs an even state size N ≥ 2")
        let (a, b, p) = transition(m, n)
        // AP = A + Σ P Pᵀ = W_re·I + S with S skew-symmetric.
        var ap = a
        for r in p { for i in 0..<n { for k in 0..<n { ap[i * n + k] += r[i] * r[k] } } }
        let wRe = (0..<n).map { ap[$0 * n + $0] }.reduce(0, +) / Double(n)
        var herm = ComplexMatrix(rows: n, cols: n)
        for i in 0..<n { for k in 0..<n where i != k { herm[i, k] = Complex64(0, -ap[i * n + k]) } }   // −i·S
        let (wIm, vFull) = herm.hermitianEigen()                                                       // ascending
        let half = n / 2
        var v = ComplexMatrix(rows: n, cols: half)
        for i in 0..<n { for k in 0..<half { v[i, k] = vFull[i, k] } }
        var lambda = (0..<half).map { Complex64(wRe, wIm[$0]) }
        if abs(wIm[half - 1]) < 1e-4 {
            // One zero eigenvalue (Fourier): the official choice of its eigenvector.
            for i in 0..<n { v[i, half - 1] = Complex64(0) }
            v[0, half - 1] = Complex64(1 / 2.0.squareRoot()); v[1, half - 1] = Complex64(0, 1 / 2.0.squareRoot())
            lambda[half - 1] = Complex64(wRe, wIm[half - 1])
        }
        let vh = v.adjoint                                                                             // (N/2, N)
        func project(_ x: [Double]) -> [Complex64] {
            (0..<half).map { k in (0..<n).reduce(Complex64(0)) { $0 + vh[k, $1] * x[$1] } }
        }
        let bt = project(b).map { Complex64($0.re, min(2, max(-2, $0.im))) }
        return (lambda, p.map(project), bt)
    }
}
