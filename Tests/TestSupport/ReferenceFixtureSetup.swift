import SSMCore
import S4ND
import Sashimi

/// Wiring for `ReferenceFixtureTests`: which module kinds can run and which are still to come.
public enum ReferenceFixtureSetup {
    /// Registers the runners of module kinds implemented outside SSMCore (whose S4 runners are
    /// built in). S4ND and SaShiMi add their `ReferenceModules.register(...)` call here, and the
    /// dependency of this target in Package.swift; the fixture test itself does not change.
    public static func registerModules() {
        S4NDReference.register()
        SashimiReference.register()
    }

    /// Official module kinds implemented by later work; their fixtures report `pending` until a
    /// runner is registered.
    public static let pendingModules: Set<String> = []

    /// Fixtures that cannot be reproduced from what they store, with the bound their error is
    /// checked against and why. Reported as `status=defect`.
    public static let fixtureDefects: [String: (bound: Float, reason: String)] = [
        "liquid_s4_polyb": (2e-3, "the reference's polyb term reads its kernel wrapper's C, a copy taken at construction " +
                            "and not saved; the fixture's parameters were perturbed after construction, so that C is lost. " +
                            "With C = conj(stored C), the reference's value at initialisation, the error is 1.1e-3; the kb " +
                            "fixture, which does not read C, passes at 2e-6"),
    ]

    /// Kernel-family fixtures whose modules are still to come (by file name; several share the
    /// module name of an implemented one, e.g. the gated block).
    public static let pendingFixtures: Set<String> = []
}
