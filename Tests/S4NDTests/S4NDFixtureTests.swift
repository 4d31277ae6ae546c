import Foundation
import XCTest
import SSMCore
import TestSupport
@testable import S4ND

final class S4NDFixtureTests: XCTestCase {
    func load(_ name: String) throws -> (S4ND, SafeTensorsFile) {
        let url = TestSupport.fixturesDirectory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("fixture \(url.path) not found") }
        let file = try SafeTensors.read(url)
        let config = try JSONDecoder().decode(S4NDConfig.self, from: Data(file.metadata["args"]!.utf8))
        var rng = SeededRNG(seed: 0)
        let layer = try S4ND(config, rng: &rng)
        try layer.load(stateDict: file.tensors.filter { !$0.key.hasPrefix("io.") })
        return (layer, file)
    }

    func check(_ name: String, toeplitzMax: Int) throws {
        let (layer, file) = try load(name)
        layer.toeplitzMaxLength = toeplitzMax
        for (input, output, rate) in [("io.input", "io.output", Float(1)), ("io.input_rate0.5", "io.output_rate0.5", 0.5)] {
            let y = Autograd.withoutGradients { layer(Variable(file.tensors[input]!), rate: rate) }
            let err = maxAbsDifference(y.value.data, file.tensors[output]!.data).value
            print("S4ND \(name) \(output) toeplitzMax=\(toeplitzMax) max_abs_error=\(err)")
            assertClose(y.value, file.tensors[output]!, atol: 1e-4, "\(name) \(output)")
        }
    }

    func test2D() throws { try check("s4nd_2d.safetensors", toeplitzMax: 1000) }
    func test2DBandlimit() throws { try check("s4nd_2d_bandlimit.safetensors", toeplitzMax: 1000) }
    func test3D() throws { try check("s4nd_3d.safetensors", toeplitzMax: 1000) }
    /// The FFT path gives the same result.
    func test2DViaFFT() throws { try check("s4nd_2d.safetensors", toeplitzMax: 0) }
    func test3DViaFFT() throws { try check("s4nd_3d.safetensors", toeplitzMax: 0) }
}
