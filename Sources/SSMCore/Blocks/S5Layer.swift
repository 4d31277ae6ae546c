import Foundation

/// The S5 layer (Smith, Warrington & Linderman, "Simplified State Space Layers for Sequence
/// Modeling", 2023; `lindermanlab/S5`'s `S5SSM`): one MIMO diagonal SSM over all `H` channels,
/// with `P` complex modes kept of each conjugate pair, run as a parallel scan — no convolution.
///
///     Δ = exp(log_step)·rate  (P)                       (`step_rescale` = rate)
///     ZOH:      Λ̄ = e^{ΛΔ},  B̄ = (Λ̄ − 1)/Λ · B̃       bilinear: Λ̄ = (1 + ΔΛ/2)/(1 − ΔΛ/2),  B̄ = Δ/(1 − ΔΛ/2) · B̃
///     x[k] = Λ̄ ⊙ x[k−1] + B̄ u[k]                        (``diagonalScan(_:_:reverse:)``)
///     y[k] = 2·Re(C̃ x[k]) + D ⊙ u[k]                    bidirectional: 2·Re(C̃₁ x[k] + C̃₂ x′[k]), x′ the reverse scan
///
/// Parameters (the authors' names): `Lambda_re`, `Lambda_im` `(P)`, `B` `(P, H, 2)`, `C` `(H, P, 2)`
/// (or `C1`, `C2` when bidirectional), `D` `(H)`, `log_step` `(P, 1)`; `Lambda_*`, `B`, `log_step`
/// are SSM parameters (no weight decay), `C` and `D` ordinary weights, as the authors' optimiser.
/// Initialisation: HiPPO-N of size 2P (``HiPPO/normalLegS(_:)``), `B̃ = Vᴴ B₀` and `C̃ = C₀ V` from
/// LeCun-normal `B₀` `(2P, H)`, `C₀` `(H, 2P)` complex, `D ~ N(0, 1)`, `log Δ ~ U[log dt_min, log dt_max)`.
/// Layout `(B, H, L)`; step mode (causal only): `x ← Λ̄x + B̄u`, `y = 2·Re(C̃x) + Du`.
public final class S5Layer: SequenceLayer {
    public let features: Int, modes: Int
    public let discretization: Discretization
    public let bidirectional: Bool
    public let lambdaRe: Variable, lambdaIm: Variable, b: Variable, c: [Variable], d: Variable, logStep: Variable

    public var namedParameters: [(String, Variable)] {
        var out: [(String, Variable)] = [("Lambda_re", lambdaRe), ("Lambda_im", lambdaIm), ("B", b)]
        out += bidirectional ? [("C1", c[0]), ("C2", c[1])] : [("C", c[0])]
        return out + [("D", d), ("log_step", logStep)]
    }

    public init(features h: Int, modes p: Int, discretization: Discretization = .zoh, bidirectional: Bool = false,
                dtMin: Float = 0.001, dtMax: Float = 0.1, rng: inout SeededRNG) {
        precondition(h > 0 && p > 0 && discretization != .dss, "S5 needs positive sizes and zoh or bilinear")
        features = h; modes = p; self.discretization = discretization; self.bidirectional = bidirectional
        let (lambda, v) = HiPPO.normalLegS(2 * p)
        lambdaRe = Variable(Tensor(shape: [p], data: lambda.map { Float($0.re) }), requiresGrad: true, name: "Lambda_re")
        lambdaIm = Variable(Tensor(shape: [p], data: lambda.map { Float($0.im) }), requiresGrad: true, name: "Lambda_im")
        // LeCun normal: truncated N(0, σ²) on [−2σ, 2σ], σ = √(1/fan_in)/0.8796.
        func lecun(_ fanIn: Int) -> Double {
            let s = (1 / Double(fanIn)).squareRoot() / 0.87962566103423978
            while true { let z = Double(rng.normal()); if abs(z) <= 2 { return z * s } }
        }
        var bData = [Float]()
        let b0 = (0..<(2 * p * h)).map { _ in lecun(2 * p) }                          // (2P, H)
        for q in 0..<p { for hi in 0..<h {
            var acc = Complex64(0)
            for n in 0..<(2 * p) { acc += v[n, q].conjugate * b0[n * h + hi] }
            bData += [Float(acc.re), Float(acc.im)]
        }}
        b = Variable(Tensor(shape: [p, h, 2], data: bData), requiresGrad: true, name: "B")
        func cInit(_ name: String) -> Variable {
            let c0 = (0..<(h * 2 * p)).map { _ in Complex64(lecun(2 * p * h), lecun(2 * p * h)) }   // (H, 2P)
            var data = [Float]()
            for hi in 0..<h { for q in 0..<p {
                var acc = Complex64(0)
                for n in 0..<(2 * p) { acc += c0[hi * 2 * p + n] * v[n, q] }
                data += [Float(acc.re), Float(acc.im)]
            }}
            return Variable(Tensor(shape: [h, p, 2], data: data), requiresGrad: true, name: name)
        }
        c = bidirectional ? [cInit("C1"), cInit("C2")] : [cInit("C")]
        d = Variable(Tensor(shape: [h], data: (0..<h).map { _ in rng.normal() }), requiresGrad: true, name: "D")
        let lo = log(dtMin), hi = log(dtMax)
        logStep = Variable(Tensor(shape: [p, 1], data: (0..<p).map { _ in rng.uniform() * (hi - lo) + lo }), requiresGrad: true, name: "log_step")
        for v in [lambdaRe, lambdaIm, b, logStep] { v.role = .ssm }
    }

    public var inputFeatures: Int { features }
    public var outputFeatures: Int { features }

    /// `(Λ̄ (P), B̄ (P, H))` at `rate`.
    func discretized(rate: Float) -> (ComplexVariable, ComplexVariable) {
        let p = modes
        let lam = ComplexVariable(re: lambdaRe, im: lambdaIm)
        let dt = exp(logStep).reshaped([p]) * rate
        let bt = ComplexVariable(interleaved: b)                                     // (P, H)
        switch discretization {
        case .zoh:
            let lbar = (lam * dt).exp
            return (lbar, bt * ((lbar + -1) / lam).reshaped([p, 1]))
        case .bilinear, .dss:
            let half = lam * (dt * 0.5)
            let bl = (1 - half).reciprocal
            return (bl * (half + 1), bt * (bl * dt).reshaped([p, 1]))
        }
    }

    /// `u (B, H, L) → (B, H, L)`.
    public func forward(_ u: Variable, rate: Float) -> Variable {
        precondition(u.value.rank == 3 && u.shape[1] == features, "S5 expects (B, \(features), L), got \(u.shape)")
        let (bsz, h, L) = (u.shape[0], features, u.shape[2])
        let (lbar, bbar) = discretized(rate: rate)
        // Bu (B, P, L) = B̄ (P, H) · u (B, H, L): real GEMMs per plane.
        let flat = u.permuted([1, 0, 2]).reshaped([h, bsz * L])                       // (H, B·L)
        func toBPL(_ m: Variable) -> Variable { m.reshaped([modes, bsz, L]).permuted([1, 0, 2]) }
        let bu = ComplexVariable(re: toBPL(matmul(bbar.re, flat)), im: toBPL(matmul(bbar.im, flat)))
        var y = readout(diagonalScan(lbar, bu), c[0])
        if bidirectional { y = y + readout(diagonalScan(lbar, bu, reverse: true), c[1]) }
        return y + u * d.reshaped([1, h, 1])
    }

    /// `2·Re(C̃ x)` `(B, H, L)` for `x` `(B, P, L)`.
    func readout(_ x: ComplexVariable, _ cParam: Variable) -> Variable {
        let (bsz, L) = (x.shape[0], x.shape[2])
        let cv = ComplexVariable(interleaved: cParam)                                 // (H, P)
        func flat(_ v: Variable) -> Variable { v.permuted([1, 0, 2]).reshaped([modes, bsz * L]) }
        let re = matmul(cv.re, flat(x.re)) - matmul(cv.im, flat(x.im))               // (H, B·L)
        return (re * 2).reshaped([features, bsz, L]).permuted([1, 0, 2])
    }

    public var hasStepMode: Bool { !bidirectional }

    public final class State: StepState {
        public let batch: Int
        let lr: [Float], li: [Float], br: [Float], bi: [Float], cr: [Float], ci: [Float], d: [Float]
        let x: StepBuffer
        init(batch: Int, layer: S5Layer) {
            self.batch = batch
            let (lbar, bbar) = Autograd.withoutGradients { layer.discretized(rate: 1) }
            lr = lbar.re.value.data; li = lbar.im.value.data; br = bbar.re.value.data; bi = bbar.im.value.data
            let cv = Autograd.withoutGradients { ComplexVariable(interleaved: layer.c[0]) }
            cr = cv.re.value.data; ci = cv.im.value.data; d = layer.d.value.data
            x = StepBuffer(batch * 2 * layer.modes)
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        precondition(!bidirectional, "a bidirectional S5 layer has no step mode")
        return State(batch: batch, layer: self)
    }

    public func step(_ input: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let input else { preconditionFailure("S5 needs an input at every step") }
        let (p, h) = (modes, features)
        for bi in 0..<s.batch {
            let u = input + bi * h, x = s.x.pointer + bi * 2 * p
            for q in 0..<p {
                var ur: Float = 0, ui: Float = 0
                for j in 0..<h { ur += s.br[q * h + j] * u[j]; ui += s.bi[q * h + j] * u[j] }
                let (xr, xi) = (x[q], x[p + q])
                x[q] = s.lr[q] * xr - s.li[q] * xi + ur
                x[p + q] = s.lr[q] * xi + s.li[q] * xr + ui
            }
            for j in 0..<h {
                var acc: Float = 0
                for q in 0..<p { acc += s.cr[j * p + q] * x[q] - s.ci[j * p + q] * x[p + q] }
                out[bi * h + j] = 2 * acc + s.d[j] * u[j]
            }
        }
        return true
    }

    /// The authors' module name.
    public static let module = "s5.ssm.S5SSM"

    /// A layer from the authors' constructor arguments (`H`, `P`, `discretization`, `conj_sym`,
    /// `bidirectional`, `clip_eigs`, `C_init`, `dt_min`, `dt_max`, `step_rescale`) and weights.
    public static func authors(arguments a: ModuleArguments, stateDict: [String: Tensor]) throws -> S5Layer {
        let h = try a.requiredInt("H"), p = try a.requiredInt("P")
        guard h > 0, p > 0 else { throw OfficialModuleError.unsupportedArgument(key: "P", value: "\(p)", reason: "H and P must be positive") }
        let discName = try a.string("discretization", default: "zoh")
        guard let disc = Discretization(rawValue: discName), disc != .dss else {
            throw OfficialModuleError.unsupportedArgument(key: "discretization", value: discName, reason: "implemented: zoh, bilinear")
        }
        try a.expect("conj_sym", in: ["true"], reason: "only the conjugate-symmetric form is implemented")
        try a.expect("clip_eigs", in: ["false"], reason: "eigenvalue clipping is not implemented")
        try a.expect("C_init", in: ["lecun_normal", "trunc_standard_normal"], reason: "complex_normal stores C differently")
        let bidirectional = try a.bool("bidirectional", default: false)
        a.accept(["dt_min", "dt_max", "step_rescale"])
        try a.finish()
        var rng = SeededRNG(seed: 0)
        let layer = S5Layer(features: h, modes: p, discretization: disc, bidirectional: bidirectional, rng: &rng)
        do { try layer.load(stateDict: stateDict) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return layer
    }
}
