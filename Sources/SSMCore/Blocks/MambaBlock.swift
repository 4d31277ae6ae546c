import Foundation

/// The Mamba block (Gu & Dao, 2023; `mamba_ssm.modules.mamba_simple.Mamba`), on the CPU:
///
///     (x, z) = in_proj(u)                          E = expand·H channels each
///     x      = SiLU(causal depthwise conv1d(x))    width d_conv, with bias
///     (δ, B, C) = x_proj(x)                        dt_rank, N, N
///     Δ      = softplus(dt_proj(δ))                bias inside the softplus
///     y      = selectiveScan(x, Δ, A = −exp(A_log), B, C) + D ⊙ x
///     out    = out_proj(y ⊙ SiLU(z))
///
/// Parameters (official names): `in_proj.weight` `(2E, H)`, `conv1d.weight` `(E, 1, W)`,
/// `conv1d.bias` `(E)`, `x_proj.weight` `(R + 2N, E)`, `dt_proj.{weight (E, R), bias (E)}`,
/// `A_log` `(E, N)`, `D` `(E)`, `out_proj.weight` `(H, E)` (no other biases). `A_log` and `D` take
/// no weight decay (the reference's `_no_weight_decay`); Mamba has no separate SSM learning rate, so
/// they keep the base one (`.noDecay`). Initialisation as the reference: `A_log = log(1…N)`, `D = 1`,
/// `dt_proj.bias = softplus⁻¹(dt)` with `dt ~ logU[dt_min, dt_max]` floored at 1e−4, `dt_proj.weight ~
/// U(±R^{−½})`, PyTorch defaults elsewhere. Layout `(B, H, L)`, or `(H, S, L)` through
/// ``forward(channelsFirst:rate:)`` (the one implementation). Rates other than 1 scale `Δ`
/// (a resolution change read as in S4; the reference has none). Step mode: a shift register of the
/// last `W` conv inputs and the `(E, N)` state.
public final class MambaBlock: ChannelsFirstSequenceLayer {
    public let features: Int, inner: Int, stateSize: Int, convWidth: Int, dtRank: Int
    public let inProj: Linear, xProj: Linear, dtProj: Linear, outProj: Linear
    public let convWeight: Variable, convBias: Variable, aLog: Variable, d: Variable

    public var namedParameters: [(String, Variable)] {
        inProj.namedParameters.map { ("in_proj." + $0.0, $0.1) } + [("conv1d.weight", convWeight), ("conv1d.bias", convBias)]
            + xProj.namedParameters.map { ("x_proj." + $0.0, $0.1) } + dtProj.namedParameters.map { ("dt_proj." + $0.0, $0.1) }
            + [("A_log", aLog), ("D", d)] + outProj.namedParameters.map { ("out_proj." + $0.0, $0.1) }
    }

    public init(features h: Int, stateSize n: Int = 16, convWidth w: Int = 4, expand: Int = 2, dtRank: Int? = nil,
                dtMin: Float = 0.001, dtMax: Float = 0.1, rng: inout SeededRNG) {
        precondition(h > 0 && n > 0 && w > 0 && expand > 0, "Mamba needs positive sizes")
        features = h; inner = expand * h; stateSize = n; convWidth = w
        self.dtRank = dtRank ?? Int((Double(h) / 16).rounded(.up))
        let e = inner, r = self.dtRank
        inProj = Linear(h, 2 * e, bias: false, rng: &rng)
        let bound = 1 / Float(w).squareRoot()
        convWeight = Variable(Tensor(shape: [e, 1, w], data: (0..<(e * w)).map { _ in rng.uniform(-bound, bound) }), requiresGrad: true, name: "weight")
        convBias = Variable(Tensor(shape: [e], data: (0..<e).map { _ in rng.uniform(-bound, bound) }), requiresGrad: true, name: "bias")
        convBias.role = .noDecay
        xProj = Linear(e, r + 2 * n, bias: false, rng: &rng)
        dtProj = Linear(r, e, rng: &rng)
        let std = 1 / Float(r).squareRoot()
        dtProj.weight.value = dtProj.weight.value.map { _ in rng.uniform(-std, std) }
        let lo = log(dtMin), hi = log(dtMax)
        dtProj.bias!.value = Tensor(shape: [e], data: (0..<e).map { _ in
            let dt = max(exp(rng.uniform() * (hi - lo) + lo), 1e-4)
            return dt + log(-expm1(-dt))                                     // softplus⁻¹
        })
        outProj = Linear(e, h, bias: false, rng: &rng)
        aLog = Variable(Tensor(shape: [e, n], data: (0..<(e * n)).map { log(Float($0 % n + 1)) }), requiresGrad: true, name: "A_log")
        d = Variable(Tensor(repeating: 1, shape: [e]), requiresGrad: true, name: "D")
        aLog.role = .noDecay; d.role = .noDecay
    }

    public var inputFeatures: Int { features }
    public var outputFeatures: Int { features }

    /// `(B, H, L) → (B, H, L)`: ``forward(channelsFirst:rate:)`` between two transposes.
    public func forward(_ u: Variable, rate: Float) -> Variable {
        precondition(u.value.rank == 3 && u.shape[1] == features, "Mamba expects (B, \(features), L), got \(u.shape)")
        return forward(channelsFirst: u.permuted([1, 0, 2]), rate: rate).permuted([1, 0, 2])
    }

    public var runsChannelsFirst: Bool { true }

    /// `(H, S, L) → (H, S, L)` with `S` sequences: every per-position map is one GEMM over all
    /// `S·L` positions, the two halves of `in_proj` are computed apart (no slice of the doubled
    /// tensor), and the element-wise chain is three fused ops (``causalConvSiLU(_:weight:bias:)``,
    /// ``softplus(_:scale:)``, ``mambaGate(_:_:d:z:)``) around
    /// ``selectiveScan(channelsFirst:delta:a:b:c:)``.
    public func forward(channelsFirst u: Variable, rate: Float) -> Variable {
        precondition(u.value.rank == 3 && u.shape[0] == features, "Mamba expects (\(features), S, L), got \(u.shape)")
        let (S, L) = (u.shape[1], u.shape[2]), (e, n, r) = (inner, stateSize, dtRank)
        let flat = u.reshaped([1, features, S * L])
        let x0 = linearChannels(flat, inProj.weight.slice(axis: 0, 0..<e), inProj.bias?.slice(axis: 0, 0..<e))
        let z = linearChannels(flat, inProj.weight.slice(axis: 0, e..<(2 * e)), inProj.bias?.slice(axis: 0, e..<(2 * e)))
        let x = causalConvSiLU(x0.reshaped([e, S, L]), weight: convWeight, bias: convBias)            // (E, S, L)
        let dbl = xProj.channels(x.reshaped([1, e, S * L]))                                            // (1, R + 2N, S·L)
        let dtr = dbl.slice(axis: 1, 0..<r)
        let bm = dbl.slice(axis: 1, r..<(r + n)).reshaped([n, S, L]), cm = dbl.slice(axis: 1, (r + n)..<(r + 2 * n)).reshaped([n, S, L])
        let delta = softplus(dtProj.channels(dtr), scale: rate).reshaped([e, S, L])                    // Δ·rate
        let a = exp(aLog) * -1
        let y = selectiveScan(channelsFirst: x, delta: delta, a: a, b: bm, c: cm)
        let gated = mambaGate(y, x, d: d, z: z.reshaped([e, S, L]))                                   // (y + D⊙x)⊙SiLU(z)
        return outProj.channels(gated.reshaped([1, e, S * L])).reshaped([features, S, L])
    }

    public var hasStepMode: Bool { true }

    public final class State: StepState {
        public let batch: Int
        let conv: StepBuffer, ssm: StepBuffer, xz: StepBuffer, xc: StepBuffer, dbl: StepBuffer, y: StepBuffer
        let inW: [Float], xW: [Float], dtW: [Float], dtB: [Float], outW: [Float], cw: [Float], cb: [Float], a: [Float], d: [Float]
        init(batch: Int, block m: MambaBlock) {
            self.batch = batch
            let (e, n, r) = (m.inner, m.stateSize, m.dtRank)
            conv = StepBuffer(batch * e * m.convWidth); ssm = StepBuffer(batch * e * n)
            xz = StepBuffer(2 * e); xc = StepBuffer(e); dbl = StepBuffer(r + 2 * n); y = StepBuffer(e)
            inW = m.inProj.weight.value.data; xW = m.xProj.weight.value.data; dtW = m.dtProj.weight.value.data
            dtB = m.dtProj.bias!.value.data; outW = m.outProj.weight.value.data
            cw = m.convWeight.value.data; cb = m.convBias.value.data
            a = m.aLog.value.data.map { -Foundation.exp($0) }; d = m.d.value.data
        }
    }

    public func defaultState(batch: Int) -> any StepState { State(batch: batch, block: self) }

    public func step(_ input: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let input else { preconditionFailure("Mamba needs an input at every step") }
        let (h, e, n, r, w) = (features, inner, stateSize, dtRank, convWidth)
        for b in 0..<s.batch {
            let u = input + b * h
            for o in 0..<(2 * e) { var acc: Float = 0; for j in 0..<h { acc += s.inW[o * h + j] * u[j] }; s.xz.pointer[o] = acc }
            let conv = s.conv.pointer + b * e * w, ssm = s.ssm.pointer + b * e * n
            for c in 0..<e {
                let reg = conv + c * w
                for k in 0..<(w - 1) { reg[k] = reg[k + 1] }
                reg[w - 1] = s.xz.pointer[c]
                var acc = s.cb[c]
                for k in 0..<w { acc += s.cw[c * w + k] * reg[k] }
                s.xc.pointer[c] = acc / (1 + Foundation.exp(-acc))                  // SiLU
            }
            for o in 0..<(r + 2 * n) { var acc: Float = 0; for j in 0..<e { acc += s.xW[o * e + j] * s.xc.pointer[j] }; s.dbl.pointer[o] = acc }
            for c in 0..<e {
                var v = s.dtB[c]
                for k in 0..<r { v += s.dtW[c * r + k] * s.dbl.pointer[k] }
                let dt = v > 20 ? v : Foundation.log1p(Foundation.exp(v))
                let x = s.xc.pointer[c]
                var acc: Float = 0
                for k in 0..<n {
                    let st = ssm + c * n + k
                    st.pointee = Foundation.exp(dt * s.a[c * n + k]) * st.pointee + dt * s.dbl.pointer[r + k] * x
                    acc += s.dbl.pointer[r + n + k] * st.pointee
                }
                let zc = s.xz.pointer[e + c]
                s.y.pointer[c] = (acc + s.d[c] * x) * zc / (1 + Foundation.exp(-zc))
            }
            for o in 0..<h { var acc: Float = 0; for j in 0..<e { acc += s.outW[o * e + j] * s.y.pointer[j] }; out[b * h + o] = acc }
        }
        return true
    }

    /// The reference module name.
    public static let module = "mamba_ssm.modules.mamba_simple.Mamba"

    /// A block from the reference's arguments (`d_model`, `d_state`, `d_conv`, `expand`, `dt_rank`,
    /// `use_fast_path`, …) and weights.
    public static func reference(arguments a: ModuleArguments, stateDict: [String: Tensor]) throws -> MambaBlock {
        let h = try a.requiredInt("d_model")
        let n = try a.int("d_state", default: 16), w = try a.int("d_conv", default: 4), expand = try a.int("expand", default: 2)
        guard h > 0, n > 0, w > 0, expand > 0 else { throw OfficialModuleError.invalidArguments("d_model, d_state, d_conv, expand must be positive") }
        var rank: Int? = nil
        if a.has("dt_rank") {
            if case .string(let s)? = a.values["dt_rank"], s == "auto" { a.accept(["dt_rank"]) } else { rank = try a.int("dt_rank") }
        }
        try a.expect("conv_bias", in: ["true"], reason: "the conv always has a bias here")
        try a.expect("bias", in: ["false"], reason: "projection biases are not implemented")
        a.accept(["use_fast_path", "dt_min", "dt_max", "dt_init", "dt_scale", "dt_init_floor", "layer_idx", "device", "dtype"])
        try a.finish()
        var rng = SeededRNG(seed: 0)
        let block = MambaBlock(features: h, stateSize: n, convWidth: w, expand: expand, dtRank: rank, rng: &rng)
        do { try block.load(stateDict: stateDict) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return block
    }
}
