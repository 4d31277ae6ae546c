import Foundation

/// Liquid-S4's input-correlation terms (Hasani et al., "Liquid Structural State-Space Models",
/// 2022; `raminmh/liquid-s4`) on top of an S4D convolution: products of `p` inputs, for every
/// degree `p = 2 … degree`, pass through the SSM's kernel (`kb`) or through a single scalar per
/// feature (`polyb`), added to the convolution's output before the `D` skip and the activation.
///
/// With the discrete input matrix `dB_n` of the kernel (bilinear `dt·B/(1 − dtΛ/2)`, ZOH
/// `(e^{dtΛ} − 1)/Λ·B`) and `S = 2·Re Σ_n dB_n` per feature:
///
///     us_p[b, h, j] = Π_t u[b, h, I_p[j][t]]     the last L of the p-combinations of the last m_p
///                                               positions (m_p: smallest m with C(m, p) ≥ L), lexicographic
///     kb:    ŷ += rfft(flip(us_p), n) · DFT_{n/2+1}(K · S^{p−1})        then y = irfft(ŷ, n)[:L], n = Lk + L
///     polyb: y[l] += γ · S^{2^{p−1} − 1} · us_p[L − 1 − l],   γ = 2·Re Σ_n conj(C_n)·dB_n
///
/// exactly as the reference computes them — including its quirks: the kernel term's DFT has
/// `n/2 + 1` points (not `n`), and the product sequences are time-flipped, so both terms are
/// non-causal and have no recurrent form (as upstream, ``FFTConv`` steps without them). The
/// reference reads the kernel's `B`, `dt` and `w` from plain copies; here they are the kernel's
/// own parameters (with gradients), and `γ` uses `conj(C)`, the reference's value at initialisation.
public struct LiquidTerms: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case kb, polyb }
    public var kind: Kind
    /// Highest product degree (≥ 2).
    public var degree: Int

    public init(kind: Kind, degree: Int) {
        precondition(degree >= 2, "Liquid-S4 terms need a degree of at least 2")
        self.kind = kind; self.degree = degree
    }

    /// The reference's `allcombs` index tuples for degree `p` over `L` positions, or `nil` when
    /// `L` is too short for them (the reference fails there too).
    public static func productIndices(length L: Int, degree p: Int) -> [[Int]]? {
        func choose(_ m: Int, _ k: Int) -> Int {
            var r = 1
            for i in 0..<k { r = r * (m - i) / (i + 1) }
            return r
        }
        guard let m = (2..<max(L, 2)).first(where: { choose($0, p) >= L }) else { return nil }
        var tuples: [[Int]] = [], current: [Int] = []
        func walk(_ start: Int) {
            if current.count == p { tuples.append(current); return }
            if start >= L { return }
            for i in start..<L { current.append(i); walk(i + 1); current.removeLast() }
        }
        walk(L - m)
        return Array(tuples.suffix(L))
    }

    /// `us_p` `(B, H, L)`, time-flipped: `flip(Π_t u[…, I_p[j][t]])`.
    static func flippedProducts(_ u: Variable, degree p: Int) -> Variable {
        let L = u.shape.last!
        guard let tuples = productIndices(length: L, degree: p) else {
            preconditionFailure("Liquid-S4 degree \(p) needs a longer sequence than \(L)")
        }
        var prod = u.gatherLast(tuples.map { $0[0] })
        for t in 1..<p { prod = prod * u.gatherLast(tuples.map { $0[t] }) }
        return prod.reversedLast()
    }

    /// The terms for `u` `(B, H, L)` through `kernel` (an S4D kernel) whose convolution kernel at
    /// this rate is `k` `(C, H, Lk)`: `(B, C·H, L)` to add to the convolution.
    func contribution(_ u: Variable, kernel s4d: S4DKernel, convolutionKernel k: Variable, rate: Float) -> Variable {
        let (bsz, h, L) = (u.shape[0], u.shape[1], u.shape[2])
        let c = k.shape[0], lk = k.shape[2]
        let db = s4d.inputMatrix(rate: rate)                                  // (H, N2) complex
        let sum = db.re.sum(axis: 1) * 2                                      // S (H)
        switch kind {
        case .kb:
            let n = lk + L, J = n / 2 + 1
            // DFT of length J (= n/2 + 1) of K, all J bins, from the real FFT of that length.
            let half = rfft(k, length: J)                                      // (C, H, ⌊J/2⌋+1)
            let kept = half.shape.last!
            let mirrored = J - kept
            var full = half
            if mirrored > 0 {
                let tail = ComplexVariable(re: half.re.slice(axis: -1, 1..<(1 + mirrored)).reversedLast(),
                                           im: half.im.slice(axis: -1, 1..<(1 + mirrored)).reversedLast() * -1)
                full = ComplexVariable(re: concat([half.re, tail.re], axis: -1), im: concat([half.im, tail.im], axis: -1))
            }
            // Σ_p S^{p−1}·rfft(flip(us_p), n)   (B, H, J)
            var acc: ComplexVariable?
            var power = sum                                                    // S^{p−1}, p = 2
            for p in 2...degree {
                let spec = rfft(Self.flippedProducts(u, degree: p), length: n)
                let term = spec * power.reshaped([1, h, 1])
                acc = acc.map { $0 + term } ?? term
                power = power * sum
            }
            let y = full.reshaped([1, c, h, J]) * acc!.reshaped([bsz, 1, h, J])    // (B, C, H, J)
            return irfft(y, length: n).slice(axis: -1, 0..<L).reshaped([bsz, c * h, L])
        case .polyb:
            let cv = ComplexVariable(interleaved: s4d.c)                       // (C, H, N2)
            let gamma = (cv.re * db.re.reshaped([1, h, -1]) + cv.im * db.im.reshaped([1, h, -1])).sum(axis: 2) * 2   // 2Re Σ conj(C)·dB
            var out: Variable?
            for p in 2...degree {
                let exponent = (1 << (p - 1)) - 1
                var coef = gamma                                               // (C, H)
                for _ in 0..<exponent { coef = coef * sum.reshaped([1, h]) }
                let term = Self.flippedProducts(u, degree: p).reshaped([bsz, 1, h, L]) * coef.reshaped([1, c, h, 1])
                out = out.map { $0 + term } ?? term
            }
            return out!.reshaped([bsz, c * h, L])
        }
    }
}

extension S4DKernel {
    /// The discrete input matrix `dB` `(H, N/2)` as complex planes with gradients: bilinear
    /// `dt·B/(1 − dtA/2)`, ZOH `(e^{dtA} − 1)/A·B` (`dt × rate`).
    func inputMatrix(rate: Float) -> ComplexVariable {
        let n2 = modes
        let (lam, bFull) = continuousPlanes()
        let dt = exp(invDt) * rate
        switch configuration.discretization {
        case .bilinear, .dss:
            return bFull * (ComplexVariable(real: dt * Variable.constant(Tensor(repeating: 1, shape: [1, n2]))) / (1 - lam * dt * 0.5))
        case .zoh:
            return bFull * (((lam * dt).exp + -1) / lam)
        }
    }
}
