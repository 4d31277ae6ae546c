import Foundation

/// Constructor arguments of the S4D kernel (the official `SSMKernelDiag` with its defaults:
/// real transform `exp`, imaginary transform `none`, dt transform `exp`, `B` constant ones).
public struct S4DKernelConfiguration: Codable, Equatable, Sendable {
    /// Initialisation of `A` (official `init`).
    public enum Initialization: String, Codable, Sendable {
        /// `A_n = −1/2 − iπn`.
        case diagLin = "diag-lin"
        /// `A_n = −1/2 − i·(N/π)·(N/(2n + 1) − 1)` with `N` the full state size.
        case diagInv = "diag-inv"
        /// Half the SSM copies `diag-inv`, half `diag-lin` (official `diag`).
        case diag = "diag"
    }

    /// `H` (`d_model`).
    public var features: Int
    /// Full state size `N` (`d_state`); `N/2` complex modes are stored.
    public var stateSize: Int = 64
    /// `C`: output channels of the kernel (already doubled for a bidirectional layer).
    public var channels: Int = 1
    /// `S` (`n_ssm`): independent `(A, B)` copies, repeated over `H`; `nil` = `H`.
    public var ssmCopies: Int? = nil
    public var initialization: Initialization = .diagLin
    public var discretization: Discretization = .zoh
    public var dtMin: Float = 0.001
    public var dtMax: Float = 0.1
    /// One `dt` per feature (`inv_dt` `(H, 1)`), or per mode (`(H, N/2)`).
    public var dtTie: Bool = true
    /// Zero `C_n` for modes whose frequency `dt·|Im A_n|/2π` reaches `bandlimit/2`.
    public var bandlimit: Float? = nil
    /// The map from `A_real` to `−Re A` (`exp`, as the official code, or a StableSSM map).
    public var reparam: RealReparameterization = .exp

    public init(features: Int, stateSize: Int = 64, channels: Int = 1, ssmCopies: Int? = nil,
                initialization: Initialization = .diagLin, discretization: Discretization = .zoh,
                dtMin: Float = 0.001, dtMax: Float = 0.1, dtTie: Bool = true, bandlimit: Float? = nil,
                reparam: RealReparameterization = .exp) {
        self.features = features; self.stateSize = stateSize; self.channels = channels; self.ssmCopies = ssmCopies
        self.initialization = initialization; self.discretization = discretization
        self.dtMin = dtMin; self.dtMax = dtMax; self.dtTie = dtTie; self.bandlimit = bandlimit; self.reparam = reparam
    }
}

/// The S4D kernel with trainable parameters under the official names:
/// `inv_dt` `(H, 1)`, `A_real` `(S, N/2)`, `A_imag` `(S, N/2)`, `B` `(1, S, N/2, 2)`,
/// `C` `(C, H, N/2, 2)`. See ``s4dKernel(invDt:aReal:aImag:b:c:length:rate:discretization:bandlimit:)``
/// for the maths.
///
/// Initialisation (as the official code, distribution-level): `log dt ~ U[log dt_min, log dt_max)`,
/// `A_real = log(1/2)`, `A_imag` from ``S4DKernelConfiguration/Initialization`` clamped below at
/// 1e-4, `B = 1`, `C ~ CN(0, 1)` (real and imaginary parts `N(0, 1/2)`).
public final class S4DKernel: DiagonalSequenceKernel {
    public let configuration: S4DKernelConfiguration
    public let invDt: Variable, aReal: Variable, aImag: Variable, b: Variable, c: Variable

    public var features: Int { configuration.features }
    public var channels: Int { configuration.channels }
    /// `N/2`, the stored complex modes.
    public var modes: Int { configuration.stateSize / 2 }

    public var namedParameters: [(String, Variable)] {
        [("inv_dt", invDt), ("C", c), ("B", b), ("A_real", aReal), ("A_imag", aImag)]
    }

    /// A freshly initialised kernel.
    public init(_ config: S4DKernelConfiguration, rng: inout SeededRNG) {
        let h = config.features, n2 = config.stateSize / 2, s = config.ssmCopies ?? config.features
        precondition(h > 0 && n2 > 0 && config.stateSize % 2 == 0, "S4D needs H > 0 and an even d_state ≥ 2")
        precondition(s > 0 && h % s == 0, "n_ssm \(s) must divide H \(h)")
        precondition(config.channels > 0, "channels must be positive")
        precondition(config.dtMin > 0 && config.dtMax >= config.dtMin, "need 0 < dt_min ≤ dt_max")
        configuration = config
        // log dt ~ U[log dt_min, log dt_max)
        let lo = log(config.dtMin), hi = log(config.dtMax)
        let dtCount = config.dtTie ? h : h * n2
        invDt = Variable(Tensor(shape: [h, config.dtTie ? 1 : n2], data: (0..<dtCount).map { _ in rng.uniform() * (hi - lo) + lo }),
                         requiresGrad: true, name: "inv_dt")
        var imag = [Float](), real = [Float]()
        let nFull = Float(config.stateSize)
        for copy in 0..<s {
            let kind: S4DKernelConfiguration.Initialization
            switch config.initialization {
            case .diag: kind = copy < s / 2 ? .diagInv : .diagLin
            default: kind = config.initialization
            }
            for k in 0..<n2 {
                let v: Float = kind == .diagLin ? Float.pi * Float(k) : nFull / Float.pi * (nFull / Float(1 + 2 * k) - 1)
                imag.append(max(v, 1e-4))
                real.append(Float(config.reparam.inverse(0.5)))
            }
        }
        aReal = Variable(Tensor(shape: [s, n2], data: real), requiresGrad: true, name: "A_real")
        aImag = Variable(Tensor(shape: [s, n2], data: imag), requiresGrad: true, name: "A_imag")
        var bData = [Float](repeating: 0, count: s * n2 * 2)
        for i in 0..<(s * n2) { bData[2 * i] = 1 }
        b = Variable(Tensor(shape: [1, s, n2, 2], data: bData), requiresGrad: true, name: "B")
        let scale = Float(0.5).squareRoot()
        for p in [invDt, aReal, aImag, b] { p.role = .ssm }
        c = Variable(Tensor(shape: [config.channels, h, n2, 2], data: (0..<(config.channels * h * n2 * 2)).map { _ in scale * rng.normal() }),
                     requiresGrad: true, name: "C")
    }

    public func kernel(length: Int, rate: Float = 1) -> Variable {
        if configuration.discretization == .dss { return dssNormalizedKernel(length: length, rate: rate) }
        return s4dKernel(invDt: invDt, aReal: aReal, aImag: aImag, b: b, c: c, length: length, rate: rate,
                  discretization: configuration.discretization, bandlimit: configuration.bandlimit,
                  reparam: configuration.reparam)
    }

    /// `A` and `B` as autograd planes `(H, N/2)`, the `S` SSM copies repeated over `H` — for the
    /// kernel paths built from ordinary ops (`disc='dss'`, Liquid-S4's input terms).
    func continuousPlanes() -> (a: ComplexVariable, b: ComplexVariable) {
        let h = features, n2 = modes, s = aReal.shape[0]
        func repeated(_ v: Variable) -> Variable { s == h ? v : concat([Variable](repeating: v, count: h / s), axis: 0) }
        let bv = ComplexVariable(interleaved: b).reshaped([s, n2])
        return (ComplexVariable(re: configuration.reparam.apply(repeated(aReal)) * -1, im: repeated(aImag) * -1),
                ComplexVariable(re: repeated(bv.re), im: repeated(bv.im)))
    }

    /// The official `disc='dss'` kernel (see ``Discretization/dss``), built from ordinary autograd
    /// ops and the fused Vandermonde sum: `W = C'·B·(e^{dtA} − 1)·conj(x)/(|x|² + 1e−7)` with
    /// `x = (e^{dtA·L} − 1)·A` (the official regularised reciprocal), `K = Re Σ W e^{dtA·l}`.
    /// (`Re A < 0` always holds here, so the official branch for positive real parts never applies.)
    func dssNormalizedKernel(length L: Int, rate: Float) -> Variable {
        let h = features, n2 = modes, s = aReal.shape[0]
        let (lam, bv) = continuousPlanes()                                            // (H, N2) each
        let dt = exp(invDt) * rate                                                    // (H, 1) or (H, N2)
        let dtLam = lam * dt
        let num = dtLam.exp + -1
        let x = (dtLam * Float(L)).exp + -1
        let xl = x * lam
        let rcp = ComplexVariable(re: xl.re, im: xl.im * -1) * (1 / (xl.squaredMagnitude + 1e-7))
        var cv = ComplexVariable(interleaved: c)                                       // (C, H, N2)
        if let bandlimit = configuration.bandlimit {
            let perMode = invDt.shape[1] != 1
            let mask = (0..<(h * n2)).map { j -> Float in
                let id = invDt.value.data[perMode ? j : j / n2]
                let f = Foundation.exp(id) * abs(aImag.value.data[(j / n2 % s) * n2 + j % n2]) / (2 * Float.pi)
                return f < bandlimit * 0.5 ? 1 : 0
            }
            cv = cv * Variable.constant(Tensor(shape: [1, h, n2], data: mask))
        }
        let w = cv * (bv * num * rcp).reshaped([1, h, n2])
        return vandermondeKernel(weights: w, logBase: dtLam, length: L)
    }

    /// No recurrence for `disc='dss'` (its kernel depends on the length, as upstream, which has no step).
    public func recurrence(rate: Float) -> (any KernelRecurrence)? {
        configuration.discretization == .dss ? nil : discreteSystem(rate: rate)
    }

    /// `(dA, dB, dC)` of the current parameters.
    public func discreteSystem(rate: Float = 1) -> DiagonalSystem {
        s4dDiscreteSystem(invDt: invDt.value, aReal: aReal.value, aImag: aImag.value, b: b.value, c: c.value,
                          rate: rate, discretization: configuration.discretization, bandlimit: configuration.bandlimit,
                          reparam: configuration.reparam)
    }
}

extension S4DKernel {
    /// The registry row: `s4d`, the diagonal kernel with the official parameterisation.
    public static let entry = KernelEntry(
        name: "s4d", summary: "diagonal S4 (S4D): A = −f(A_real) − i·A_imag, ZOH or bilinear",
        initializations: ["diag-lin", "diag-inv", "diag"], discretizations: ["zoh", "bilinear", "dss"],
        hasStepMode: true, continuousTime: true, rateNote: "dt × rate: the same continuous system at another resolution",
        supportsReparameterization: true, supportsBandlimit: true
    ) { o, shape, rng in
        let config = S4DKernelConfiguration(
            features: shape.features, stateSize: o.stateSize, channels: shape.channels, ssmCopies: o.ssmCopies,
            initialization: S4DKernelConfiguration.Initialization(rawValue: try o.resolvedInitialization()) ?? .diagLin,
            discretization: Discretization(rawValue: try o.resolvedDiscretization()) ?? .zoh,
            dtMin: o.dtMin, dtMax: o.dtMax, bandlimit: o.bandlimit, reparam: o.resolvedReparameterization)
        return S4DKernel(config, rng: &rng)
    }
}
