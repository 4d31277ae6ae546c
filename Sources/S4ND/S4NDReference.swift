import Foundation
import SSMCore

/// Runs the official S4ND fixtures: builds an ``S4ND`` layer from the fixture's `args`, loads the
/// weights strictly and computes `io.output` and every `io.output_rate<r>`.
public enum S4NDReference {
    public static let module = "src.models.sequence.modules.s4nd.S4ND"

    /// Adds the S4ND runner to ``ReferenceModules``.
    public static func register() {
        ReferenceModules.register(module) { fixture in
            guard let args = fixture.metadata["args"] else {
                throw ReferenceFixtureError.missingMetadata(fixture: fixture.name, key: "args")
            }
            let config = try JSONDecoder().decode(S4NDConfig.self, from: Data(args.utf8))
            var rng = SeededRNG(seed: 0)
            let layer = try S4ND(config, rng: &rng)
            try layer.load(stateDict: fixture.weights)
            var out: [String: Tensor] = [:]
            for key in fixture.outputKeys {
                guard let (input, rate) = try fixture.convolutionInput(for: key) else {
                    throw ReferenceFixtureError.unsupportedOutput(fixture: fixture.name, key: key)
                }
                out[key] = Autograd.withoutGradients { layer(Variable(input), rate: rate).value }
            }
            return out
        }
    }
}
