import Foundation

/// What a kernel's parameters say about it, for `ssm inspect`: step sizes, the continuous-time
/// eigenvalues of its state matrix, the discrete poles at rate 1, and its number of taps.
/// Ranges are `[min, max]`; `nil` where the kernel has no such quantity.
public struct KernelStatistics: Encodable, Equatable {
    public var kernel: String
    public var stepSize: [Float]? = nil
    public var eigenvalueReal: [Float]? = nil
    public var eigenvalueImag: [Float]? = nil
    /// `|z|` of the discrete poles (the recurrence's `dA`) at rate 1.
    public var poleMagnitude: [Float]? = nil
    /// Taps of a finite kernel (conv, sgconv).
    public var taps: Int? = nil

    enum CodingKeys: String, CodingKey {
        case kernel, stepSize = "step_size", eigenvalueReal = "eig_real", eigenvalueImag = "eig_imag"
        case poleMagnitude = "pole_abs", taps
    }

    static func range(_ v: [Float]) -> [Float]? { v.isEmpty ? nil : [v.min()!, v.max()!] }
}

/// Kernels that can report step sizes and eigenvalues; others are described from their recurrence.
public protocol KernelInspectable {
    func statistics() -> KernelStatistics
}

/// The statistics of any kernel: its own, or the poles of its diagonal recurrence.
public func kernelStatistics(_ k: any SequenceKernel) -> KernelStatistics {
    var s = (k as? KernelInspectable)?.statistics() ?? KernelStatistics(kernel: String(describing: type(of: k)))
    if s.poleMagnitude == nil, let r = k.recurrence(rate: 1) as? DiagonalSystem {
        s.poleMagnitude = KernelStatistics.range(zip(r.ar, r.ai).map { ($0 * $0 + $1 * $1).squareRoot() })
    }
    return s
}

extension S4DKernel: KernelInspectable {
    public func statistics() -> KernelStatistics {
        let f = configuration.reparam
        return KernelStatistics(kernel: "s4d", stepSize: KernelStatistics.range(invDt.value.data.map { Foundation.exp($0) }),
                                eigenvalueReal: KernelStatistics.range(aReal.value.data.map { Float(-f.apply(Double($0))) }),
                                eigenvalueImag: KernelStatistics.range(aImag.value.data.map { -$0 }))
    }
}

extension DPLRKernel: KernelInspectable {
    /// Eigenvalues of the full `A = diag(Λ) − P Pᴴ` (what the recurrence runs), not only of `Λ`.
    public func statistics() -> KernelStatistics {
        let mu = (0..<features).compactMap { fullA($0).eigen()?.values }.flatMap { $0 }
        return KernelStatistics(kernel: "dplr", stepSize: KernelStatistics.range(invDt.value.data.map { Foundation.exp($0) }),
                                eigenvalueReal: KernelStatistics.range(mu.map { Float($0.re) }), eigenvalueImag: KernelStatistics.range(mu.map { Float($0.im) }))
    }
}

extension DSSKernel: KernelInspectable {
    public func statistics() -> KernelStatistics {
        let lam = Autograd.withoutGradients { lambda }
        return KernelStatistics(kernel: "dss", stepSize: KernelStatistics.range(logDt.value.data.map { Foundation.exp($0) }),
                                eigenvalueReal: KernelStatistics.range(lam.re.value.data), eigenvalueImag: KernelStatistics.range(lam.im.value.data))
    }
}

extension DLRKernel: KernelInspectable {
    /// Λ is the discrete log-pole (no step size).
    public func statistics() -> KernelStatistics {
        KernelStatistics(kernel: "dlr", eigenvalueReal: KernelStatistics.range(rho.value.data.map { -$0 * $0 }), eigenvalueImag: KernelStatistics.range(theta.value.data))
    }
}

extension SGConvKernel: KernelInspectable {
    public func statistics() -> KernelStatistics {
        KernelStatistics(kernel: "sgconv", taps: Autograd.withoutGradients { unnormalised(rate: 1).shape[2] })
    }
}

extension EMAKernel: KernelInspectable {
    /// No step size or continuous eigenvalues: Mega's EMA is discrete (its poles `q` are reported).
    public func statistics() -> KernelStatistics { KernelStatistics(kernel: "ema") }
}

extension ConvKernel: KernelInspectable {
    public func statistics() -> KernelStatistics { KernelStatistics(kernel: "conv", taps: length) }
}
