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

    /// The normal part of `m`'s matrix at size `n`: `A + Σ P Pᵀ = W_re·I + S` with `S` skew,
    /// `Λ = W_re + i·eig(−i·S)` for the `n/2` eigenvalues with negative imaginary part (ascending,
    /// most negative first) and their unit eigenvectors `V` `(n × n/2)`; the Fourier measure's one
    /// zero eigenvalue gets the official eigenvector. Also `B` and `P` of ``transition(_:_:)``.
    static func normalPart(_ m: Measure, _ n: Int) -> (lambda: [Complex64], v: ComplexMatrix, b: [Double], p: [[Double]]) {
        precondition(n >= 2 && n % 2 == 0, "HiPPO's normal part needs an even size N ≥ 2")
        let (a, b, p) = transition(m, n)
        var ap = a
        for r in p { for i in 0..<n { for k in 0..<n { ap[i * n + k] += r[i] * r[k] } } }
        let wRe = (0..<n).map { ap[$0 * n + $0] }.reduce(0, +) / Double(n)
        var herm = ComplexMatrix(rows: n, cols: n)
        for i in 0..<n { for k in 0..<n where i != k { herm[i, k] = Complex64(0, -ap[i * n + k]) } }   // −i·S
        let (wIm, vFull) = herm.hermitianEigen()                                                       // ascending
        let half = n / 2
        var v = ComplexMatrix(rows: n, cols: half)
        for i in 0..<n { for k in 0..<half { v[i, k] = vFull[i, k] } }
        if abs(wIm[half - 1]) < 1e-4 {
            // One zero eigenvalue (Fourier): the official choice of its eigenvector.
            for i in 0..<n { v[i, half - 1] = Complex64(0) }
            v[0, half - 1] = Complex64(1 / 2.0.squareRoot()); v[1, half - 1] = Complex64(0, 1 / 2.0.squareRoot())
        }
        return ((0..<half).map { Complex64(wRe, wIm[$0]) }, v, b, p)
    }

    /// S5's "HiPPO-N": the normal part of HiPPO-LegS at size `n` (``normalPart(_:_:)``).
    static func normalLegS(_ n: Int) -> (lambda: [Complex64], v: ComplexMatrix) {
        let r = normalPart(.legs, n)
        return (r.lambda, r.v)
    }

    /// The NPLR form `A = V (diag Λ − P̃ P̃ᴴ) Vᴴ` (conjugate pairs halved): `Λ` `(N/2)` with negative
    /// imaginary parts, `P̃` `(rank, N/2)`, `B̃` `(N/2)` with `Im B̃` clipped to ±2 (the official `B_clip`).
    static func nplr(_ m: Measure, _ n: Int) -> (lambda: [Complex64], p: [[Complex64]], b: [Complex64]) {
        let (lambda, v, b, p) = normalPart(m, n)
        let half = n / 2
        let vh = v.adjoint                                                                             // (N/2, N)
        func project(_ x: [Double]) -> [Complex64] {
            (0..<half).map { k in (0..<n).reduce(Complex64(0)) { $0 + vh[k, $1] * x[$1] } }
        }
        let bt = project(b).map { Complex64($0.re, min(2, max(-2, $0.im))) }
        return (lambda, p.map(project), bt)
    }
}
