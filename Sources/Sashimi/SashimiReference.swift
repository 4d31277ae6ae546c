import SSMCore

/// The reference-fixture runner of the official SaShiMi backbone: `io.output` from `io.input`
/// (both `(B, L, H)`, the official layout) in convolution mode, `io.output_step` by stepping.
public enum SashimiReference {
    public static func register() {
        ReferenceModules.register(Sashimi.officialModule) { f in
            let model: Sashimi
            do { model = try Sashimi.official(arguments: f.arguments(), stateDict: f.weights) }
            catch { throw ReferenceFixtureError.module(fixture: f.name, reason: "\(error)") }
            let input = try f.tensor("io.input")
            guard input.rank == 3, input.shape[2] == model.dModel, input.shape[1] % model.lengthMultiple == 0 else {
                throw ReferenceFixtureError.module(fixture: f.name,
                    reason: "input has shape \(input.shape); expected (B, L, \(model.dModel)) with L a multiple of \(model.lengthMultiple)")
            }
            let x = input.permuted([0, 2, 1])                                // (B, H, L)
            var out: [String: Tensor] = [:]
            for key in f.outputKeys {
                switch key {
                case "io.output":
                    out[key] = Autograd.withoutGradients { model.forward(Variable(x)).value }.permuted([0, 2, 1])
                case "io.output_step":
                    out[key] = model.stepThrough(x).permuted([0, 2, 1])
                default:
                    throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key)
                }
            }
            return out
        }
    }
}
