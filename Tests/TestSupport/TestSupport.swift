import Foundation
import XCTest
import SSMCore

/// Shared helpers for the test targets.
public enum TestSupport {
    /// `/work/.../shared/fixtures` next to the repository, or `$SSM_FIXTURES_DIR`.
    public static var fixturesDirectory: URL {
        if let d = ProcessInfo.processInfo.environment["SSM_FIXTURES_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    /// `shared/fixtures/kernels` (the rest of the S4 family), or `$SSM_KERNEL_FIXTURES_DIR`.
    public static var kernelFixturesDirectory: URL {
        if let d = ProcessInfo.processInfo.environment["SSM_KERNEL_FIXTURES_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/kernels")
    }

    /// The package root (the folder holding Package.swift).
    public static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }

    /// The `samples/` folder of the repository.
    public static var samplesDirectory: URL { repositoryRoot.appendingPathComponent("samples") }

    /// A fresh empty temporary directory.
    public static func temporaryDirectory(_ label: String = "ssm-test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Random tensor with normal entries scaled by `scale`.
    public static func randomTensor(_ shape: [Int], scale: Float = 1, rng: inout SeededRNG) -> Tensor {
        Tensor(shape: shape, data: (0..<Tensor.count(of: shape)).map { _ in scale * rng.normal() })
    }
}

/// Largest absolute difference and where it occurs.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> (value: Float, index: Int) {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var m: Float = 0, at = -1
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        if d > m || d.isNaN { m = d.isNaN ? .infinity : d; at = i }
    }
    return (m, at)
}

/// Asserts `actual` ≈ `expected` elementwise within `atol + rtol·|expected|`, reporting the max
/// difference, where it is, and the first mismatches.
public func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float = 1e-5, rtol: Float = 0,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("shape \(actual.shape) != expected \(expected.shape) \(message())", file: file, line: line); return
    }
    var bad: [String] = []
    var worst: Float = 0, worstAt = 0
    for i in 0..<actual.count {
        let d = abs(actual.data[i] - expected.data[i])
        if d > worst || d.isNaN { worst = d.isNaN ? .infinity : d; worstAt = i }
        if !(d <= atol + rtol * abs(expected.data[i])) && bad.count < 5 {
            bad.append("[\(i)] \(actual.data[i]) vs \(expected.data[i])")
        }
    }
    if !bad.isEmpty {
        XCTFail("max |diff| = \(worst) at flat index \(worstAt); first mismatches: \(bad.joined(separator: ", ")) \(message())",
                file: file, line: line)
    }
}

/// Checks the analytic gradient of a scalar-valued function of several inputs against central
/// finite differences (in Double-accumulated Float arithmetic). `f` must build a fresh graph from
/// its inputs each call. The loss used is `sum(f(inputs) * w)` for a fixed random `w`, so every
/// output element takes part.
public func assertGradientsMatchFiniteDifferences(
    inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-2, rtol: Float = 2e-2, seed: UInt64 = 7,
    file: StaticString = #filePath, line: UInt = #line,
    _ f: ([Variable]) -> Variable
) {
    var rng = SeededRNG(seed: seed)
    let vars = inputs.map { Variable($0, requiresGrad: true) }
    let out = f(vars)
    let w = TestSupport.randomTensor(out.shape, rng: &rng)
    func loss(_ t: [Tensor]) -> Double {
        let o = Autograd.withoutGradients { f(t.map { Variable($0) }) }
        var s = 0.0
        for i in 0..<o.value.count { s += Double(o.value.data[i]) * Double(w.data[i]) }
        return s
    }
    out.backward(w)
    for (k, v) in vars.enumerated() {
        guard let g = v.grad else { XCTFail("input \(k) got no gradient", file: file, line: line); continue }
        var numeric = [Float](repeating: 0, count: inputs[k].count)
        for i in 0..<inputs[k].count {
            var plus = inputs, minus = inputs
            plus[k].data[i] += eps
            minus[k].data[i] -= eps
            numeric[i] = Float((loss(plus) - loss(minus)) / Double(2 * eps))
        }
        assertClose(g, Tensor(shape: inputs[k].shape, data: numeric), atol: atol, rtol: rtol,
                    "gradient of input \(k)", file: file, line: line)
    }
}

/// Checks the accumulated `.grad` of parameters used in place by a model against central finite
/// differences of `loss` (which must read the parameters' current values): each checked entry is
/// nudged by ±`eps` (or ±`relativeEps·|value|` when larger) and put back. Call after `backward`.
/// `samples` limits how many entries of each parameter are checked (spread evenly).
public func assertParameterGradientsMatchFiniteDifferences(
    _ parameters: [(String, Variable)], samples: Int? = nil, eps: Float = 1e-3, relativeEps: Float = 0,
    atol: Double = 2e-3, rtol: Double = 2e-2, label: String = "",
    file: StaticString = #filePath, line: UInt = #line, loss: () -> Double
) {
    for (name, p) in parameters where p.requiresGrad {
        guard let g = p.grad else { XCTFail("\(label) \(name): no gradient", file: file, line: line); continue }
        let step = samples.map { max(1, p.value.count / $0) } ?? 1
        for i in stride(from: 0, to: p.value.count, by: step) {
            let old = p.value.data[i], h = max(eps, abs(old) * relativeEps)
            p.value.data[i] = old + h; let up = loss()
            p.value.data[i] = old - h; let down = loss()
            p.value.data[i] = old
            let numeric = (up - down) / Double(2 * h)
            XCTAssertEqual(Double(g.data[i]), numeric, accuracy: atol + rtol * abs(Double(g.data[i])),
                           "\(label) \(name)[\(i)]", file: file, line: line)
        }
    }
}
