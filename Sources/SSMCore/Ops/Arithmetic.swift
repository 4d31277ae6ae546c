// Elementwise arithmetic on Variables with NumPy-style broadcasting.
// Gradients are summed back over broadcast axes to each operand's shape.

extension Variable {
    /// `a + b`, broadcasting. ∂/∂a = g, ∂/∂b = g (each reduced to its operand's shape).
    public static func + (a: Variable, b: Variable) -> Variable {
        Variable(a.value + b.value, parents: [a, b]) { g in
            [a.requiresGrad ? g.reduced(toBroadcastShape: a.shape) : nil,
             b.requiresGrad ? g.reduced(toBroadcastShape: b.shape) : nil]
        }
    }

    /// `a − b`, broadcasting. ∂/∂a = g, ∂/∂b = −g.
    public static func - (a: Variable, b: Variable) -> Variable {
        Variable(a.value - b.value, parents: [a, b]) { g in
            [a.requiresGrad ? g.reduced(toBroadcastShape: a.shape) : nil,
             b.requiresGrad ? (-g).reduced(toBroadcastShape: b.shape) : nil]
        }
    }

    /// `a ⊙ b`, broadcasting. ∂/∂a = g ⊙ b, ∂/∂b = g ⊙ a.
    public static func * (a: Variable, b: Variable) -> Variable {
        let av = a.value, bv = b.value
        return Variable(av * bv, parents: [a, b]) { g in
            [a.requiresGrad ? (g * bv).reduced(toBroadcastShape: av.shape) : nil,
             b.requiresGrad ? (g * av).reduced(toBroadcastShape: bv.shape) : nil]
        }
    }

    /// `a / b`, broadcasting. ∂/∂a = g / b, ∂/∂b = −g · a / b².
    public static func / (a: Variable, b: Variable) -> Variable {
        let av = a.value, bv = b.value
        let out = av / bv
        return Variable(out, parents: [a, b]) { g in
            let ga = g / bv
            return [a.requiresGrad ? ga.reduced(toBroadcastShape: av.shape) : nil,
                    // −g·a/b² = −(g/b)·(a/b) = −ga · out
                    b.requiresGrad ? Tensor.broadcasting(ga, out) { -$0 * $1 }.reduced(toBroadcastShape: bv.shape) : nil]
        }
    }

    /// `−x`.
    public static prefix func - (x: Variable) -> Variable {
        Variable(-x.value, parents: [x]) { g in [-g] }
    }

    /// `x + s`.
    public static func + (x: Variable, s: Float) -> Variable { Variable(x.value + s, parents: [x]) { g in [g] } }
    /// `s + x`.
    public static func + (s: Float, x: Variable) -> Variable { x + s }
    /// `x − s`.
    public static func - (x: Variable, s: Float) -> Variable { Variable(x.value - s, parents: [x]) { g in [g] } }
    /// `s − x`.
    public static func - (s: Float, x: Variable) -> Variable {
        Variable(x.value.map { s - $0 }, parents: [x]) { g in [-g] }
    }
    /// `x · s`.
    public static func * (x: Variable, s: Float) -> Variable { Variable(x.value * s, parents: [x]) { g in [g * s] } }
    /// `s · x`.
    public static func * (s: Float, x: Variable) -> Variable { x * s }
    /// `x / s`.
    public static func / (x: Variable, s: Float) -> Variable {
        let r = 1 / s
        return Variable(x.value * r, parents: [x]) { g in [g * r] }
    }
    /// `s / x`. ∂/∂x = −s / x².
    public static func / (s: Float, x: Variable) -> Variable {
        let xv = x.value
        return Variable(xv.map { s / $0 }, parents: [x]) { g in
            [Tensor.broadcasting(g, xv) { gi, xi in -s * gi / (xi * xi) }]
        }
    }
}
