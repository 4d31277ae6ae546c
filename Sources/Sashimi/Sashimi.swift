import CKernels
import Foundation
import SSMCore

/// The SaShiMi backbone (official `models/sashimi/sashimi.py`, `unet=False`): a multi-scale stack of
/// residual S4 and feed-forward blocks on `(B, H, L)`, `L` a multiple of `Π pool`.
///
///     outputs = [x]
///     for DownPool in d_layers:  x = DownPool(x); outputs.append(x)     H → expand·H, L → L/p
///     x = center blocks(x) + outputs.pop()                               n_layers × [Res(S4), Res(FF)]
///     for each up block (coarsest first):
///         x = UpPool(x) + outputs.pop(); outputs.append(x)               expand·H → H, L → L·p
///         x = blocks(x) + outputs.pop()                                  n_layers × [Res(S4), Res(FF)]
///     y = LayerNorm(x)
///
/// Parameters under the official keys: `d_layers.i.*`, `c_layers.i.*`, `u_layers.k.j.*`, `norm.*`.
/// Step mode (``step(_:into:state:)``) follows the official `step`: the coarser tiers run only on
/// the steps where their DownPool emits (every 4th, 16th, … sample), and the up-pools' queues carry
/// their outputs to the finer tiers.
public final class Sashimi: SequenceLayer {
    public let dModel: Int
    public let pool: [Int]
    public let expand: Int
    public let dLayers: [DownPool]
    public let cLayers: [any SequenceLayer]
    /// Per up block: the UpPool, then its residual blocks.
    public let uLayers: [[any SequenceLayer]]
    public let norm: LayerNorm
    /// Dropout switches of every block (off unless training).
    public let dropoutContext: DropoutContext

    /// The backbone with its S4 blocks made by `s4Block(width, tier, &rng)` (`tier` = poolings
    /// above the finest rate, so a tier's sequences are `Π pool[0..<tier]` times shorter), in the
    /// official order of construction (down pools, center, up blocks).
    public init(dModel: Int, nLayers: Int, pool: [Int], expand: Int, ff: Int, dropout: Float = 0,
                rng: inout SeededRNG, s4Block: (Int, Int, inout SeededRNG) throws -> any SequenceLayer) rethrows {
        precondition(dModel > 0 && nLayers >= 0 && expand > 0 && ff >= 0 && pool.allSatisfy { $0 > 0 }, "invalid SaShiMi shape")
        self.dModel = dModel
        self.pool = pool
        self.expand = expand
        let context = DropoutContext()
        dropoutContext = context
        func blocks(_ h: Int, _ tier: Int, _ rng: inout SeededRNG) throws -> [any SequenceLayer] {
            var out: [any SequenceLayer] = []
            for _ in 0..<nLayers {
                out.append(ResidualBlock(layer: try s4Block(h, tier, &rng), dropout: dropout, context: context))
                if ff > 0 {
                    out.append(ResidualBlock(layer: FFBlock(features: h, expand: ff, dropout: dropout, context: context, rng: &rng),
                                             dropout: dropout, context: context))
                }
            }
            return out
        }
        var h = dModel
        var d: [DownPool] = []
        for p in pool {
            d.append(DownPool(features: h, expand: expand, pool: p, rng: &rng))
            h *= expand
        }
        dLayers = d
        cLayers = try blocks(h, pool.count, &rng)
        var u: [[any SequenceLayer]] = []
        for (i, p) in pool.enumerated().reversed() {
            h /= expand
            u.append([UpPool(features: h * expand, expand: expand, pool: p, rng: &rng)] + (try blocks(h, i, &rng)))
        }
        uLayers = u
        norm = LayerNorm(h, axis: 1)
    }

    public var inputFeatures: Int { dModel }
    public var outputFeatures: Int { dModel }
    /// Sequence lengths must be multiples of this (the product of the pooling factors).
    public var lengthMultiple: Int { pool.reduce(1, *) }

    public var namedParameters: [(String, Variable)] {
        var p: [(String, Variable)] = []
        for (i, l) in dLayers.enumerated() { p += l.namedParameters.map { ("d_layers.\(i)." + $0.0, $0.1) } }
        for (i, l) in cLayers.enumerated() { p += l.namedParameters.map { ("c_layers.\(i)." + $0.0, $0.1) } }
        for (k, block) in uLayers.enumerated() {
            for (j, l) in block.enumerated() { p += l.namedParameters.map { ("u_layers.\(k).\(j)." + $0.0, $0.1) } }
        }
        return p + norm.namedParameters.map { ("norm." + $0.0, $0.1) }
    }

    /// Convolution mode: `x (B, H, L) → (B, H, L)`.
    public func forward(_ input: Variable, rate: Float) -> Variable { forward(input, rate: rate, observe: nil) }

    /// Convolution mode calling `observe(key, layer, input)` before each layer (`key` as in the
    /// parameter names, e.g. `c_layers.3`), for per-layer diagnostics.
    public func forward(_ input: Variable, rate: Float, observe: ((String, any SequenceLayer, Variable) -> Void)?) -> Variable {
        precondition(input.value.rank == 3 && input.shape[1] == dModel && input.shape[2] % lengthMultiple == 0,
                     "SaShiMi expects (B, \(dModel), L) with L a multiple of \(lengthMultiple), got \(input.shape)")
        var x = input
        var outputs = [x]
        for (i, layer) in dLayers.enumerated() {
            observe?("d_layers.\(i)", layer, x)
            x = layer.forward(x, rate: rate)
            outputs.append(x)
        }
        for (i, layer) in cLayers.enumerated() {
            observe?("c_layers.\(i)", layer, x)
            x = layer.forward(x, rate: rate)
        }
        x = x + outputs.removeLast()
        for (k, block) in uLayers.enumerated() {
            for (j, layer) in block.enumerated() {
                observe?("u_layers.\(k).\(j)", layer, x)
                x = layer.forward(x, rate: rate)
                if j == 0 {
                    x = x + outputs.removeLast()
                    outputs.append(x)
                }
            }
            x = x + outputs.removeLast()
        }
        return norm(x)
    }

    public var hasStepMode: Bool { cLayers.allSatisfy(\.hasStepMode) && uLayers.allSatisfy { $0.allSatisfy(\.hasStepMode) } }

    /// Every layer's state, plus per tier a skip buffer and two working buffers `(B, H_tier)`.
    public final class State: StepState {
        public let batch: Int
        let d: [any StepState], c: [any StepState], u: [[any StepState]]
        let widths: [Int]
        let skip: [StepBuffer], ping: [StepBuffer], pong: [StepBuffer]
        let normWeight: StepBuffer, normBias: StepBuffer
        init(_ m: Sashimi, batch: Int) {
            self.batch = batch
            d = m.dLayers.map { $0.defaultState(batch: batch) }
            c = m.cLayers.map { $0.defaultState(batch: batch) }
            u = m.uLayers.map { $0.map { $0.defaultState(batch: batch) } }
            var w = [m.dModel]
            for _ in m.pool { w.append(w.last! * m.expand) }
            widths = w
            skip = w.map { StepBuffer(batch * $0) }
            ping = w.map { StepBuffer(batch * $0) }
            pong = w.map { StepBuffer(batch * $0) }
            normWeight = StepBuffer(copying: m.norm.weight.value.data)
            normBias = StepBuffer(copying: m.norm.bias.value.data)
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        precondition(hasStepMode, "this SaShiMi has no recurrent mode (bidirectional S4 layers)")
        return State(self, batch: batch)
    }

    /// One sample: `x (B, H)` → `y (B, H)`. Always emits.
    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("SaShiMi needs an input at every step") }
        let b = s.batch, top = dLayers.count
        var current: UnsafePointer<Float>? = UnsafePointer(x)
        var reached = 0
        for (i, layer) in dLayers.enumerated() {
            s.skip[i].pointer.update(from: current!, count: b * s.widths[i])
            reached = i + 1
            current = layer.step(current, into: s.ping[i + 1].pointer, state: s.d[i]) ? UnsafePointer(s.ping[i + 1].pointer) : nil
            if current == nil { break }
        }
        var first = 0
        if let reachedCenter = current {
            let n = b * s.widths[top]
            s.skip[top].pointer.update(from: reachedCenter, count: n)
            var a = s.ping[top].pointer, other = s.pong[top].pointer
            if reachedCenter != UnsafePointer(a) { a.update(from: reachedCenter, count: n) }
            for (j, layer) in cLayers.enumerated() {
                _ = layer.step(a, into: other, state: s.c[j])
                swap(&a, &other)
            }
            ssm_step_add(a, s.skip[top].pointer, n)
            current = UnsafePointer(a)
        } else {
            first = top - reached                      // up blocks of the tiers that did not run
        }
        for k in first..<uLayers.count {
            let level = top - k - 1, n = b * s.widths[level]
            let block = uLayers[k]
            var a = s.ping[level].pointer, other = s.pong[level].pointer
            _ = block[0].step(current, into: a, state: s.u[k][0])
            ssm_step_add(a, s.skip[level].pointer, n)
            s.skip[level].pointer.update(from: a, count: n)
            for j in 1..<block.count {
                _ = block[j].step(a, into: other, state: s.u[k][j])
                swap(&a, &other)
            }
            ssm_step_add(a, s.skip[level].pointer, n)
            current = UnsafePointer(a)
        }
        ssm_step_layernorm(current!, b, dModel, s.normWeight.pointer, s.normBias.pointer, norm.eps, y)
        return true
    }
}

extension Sashimi: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] {
        var out: [(String, any SequenceKernel)] = []
        for (i, l) in cLayers.enumerated() { out += kernels(of: l, prefix: "c_layers.\(i)") }
        for (k, block) in uLayers.enumerated() { for (j, l) in block.enumerated() { out += kernels(of: l, prefix: "u_layers.\(k).\(j)") } }
        return out
    }
}
