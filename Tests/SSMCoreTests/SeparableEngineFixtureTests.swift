import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// The N-D engine (S4D kernels per axis → bidirectional layout → `fftConvolution` → D skip) composed
/// by hand as the official `S4ND.forward` does, against the S4ND golden fixtures. This pins down the
/// semantics S4ND builds on (outer-product kernel, layout by input length, `rate`, bandlimit);
/// the S4ND module itself is not part of SSMCore.
final class SeparableEngineFixtureTests: XCTestCase {
    func testEngineReproducesS4NDFixtures() throws {
        for name in ["s4nd_2d", "s4nd_2d_bandlimit", "s4nd_3d"] {
            let url = TestSupport.fixturesDirectory.appendingPathComponent(name + ".safetensors")
            let f = try SafeTensors.read(url)
            let args = try ModuleArguments(json: XCTUnwrap(f.metadata["args"]))
            let lMax = try XCTUnwrap(args.ints("l_max"))
            let bandlimit = try args.double("bandlimit").map { Float($0) }
            let disc = try XCTUnwrap(Discretization(rawValue: args.string("disc", default: "zoh")))
            let t = f.tensors
            var compared = 0
            for (inKey, outKey, rate) in [("io.input", "io.output", Float(1)), ("io.input_rate0.5", "io.output_rate0.5", Float(0.5))] {
                guard let x = t[inKey], let expected = t[outKey] else { continue }
                let L = Array(x.shape.dropFirst(2))
                let kernels = (0..<L.count).map { i -> Variable in
                    let lk = min(L[i], Int((Float(lMax[i]) / rate).rounded()))      // official L_kernel
                    let p = { (k: String) in Variable(t["kernel.\(i).\(k)"]!) }
                    let k = s4dKernel(invDt: p("inv_dt"), aReal: p("A_real"), aImag: p("A_imag"), b: p("B"), c: p("C"),
                                      length: lk, rate: rate, discretization: disc, bandlimit: bandlimit)   // (2, H, lk)
                    return layoutKernel(k, inputLength: L[i], bidirectional: true)                          // (1, H, lk + L)
                }
                var y = fftConvolution(Variable(x), kernels: kernels)                                      // (B, H, L…)
                y = gelu(skipConnection(y, input: Variable(x), D: Variable(t["D"]!)))
                y = glu(linearChannels(y, Variable(t["output_linear.0.weight"]!), Variable(t["output_linear.0.bias"]!)), axis: 1)
                assertClose(y.value, expected, atol: 1e-4, "\(name) \(outKey)")
                compared += 1
            }
            XCTAssertEqual(compared, 2, "\(name): expected io.output and io.output_rate0.5")
        }
    }
}
