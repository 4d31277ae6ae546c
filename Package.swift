// swift-tools-version:6.1
import PackageDescription

let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "ssm",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ssm", targets: ["ssm"]),
        .library(name: "MediaIO", targets: ["MediaIO"]),
        .library(name: "SSMCore", targets: ["SSMCore"]),
        .library(name: "S4ND", targets: ["S4ND"]),
        .library(name: "Sashimi", targets: ["Sashimi"]),
        .library(name: "Workflows", targets: ["Workflows"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries (system)
        .systemLibrary(name: "CMedia", path: "Sources/CMedia"),
        .systemLibrary(name: "CNumerics", path: "Sources/CNumerics"),
        // libpng with setjmp kept in C, the FFmpeg video reader, libswresample
        .target(
            name: "CMediaShim",
            path: "Sources/CMediaShim",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [
                .linkedLibrary("png16"), .linkedLibrary("avformat"), .linkedLibrary("avcodec"),
                .linkedLibrary("avutil"), .linkedLibrary("swscale"), .linkedLibrary("swresample"),
            ]),

        // Element-wise kernels with an AVX2/FMA build chosen at load time
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Media decoding / encoding
        .target(name: "MediaIO", dependencies: ["CMedia", "CMediaShim"], exclude: ["README.md"], swiftSettings: optimise),

        // Numerics: tensors, autograd, FFT/BLAS, S4 kernels
        .target(name: "SSMCore", dependencies: ["CNumerics", "CKernels"], exclude: ["README.md"], swiftSettings: optimise),

        // Models
        .target(name: "S4ND", dependencies: ["SSMCore", "CNumerics", "CKernels"], exclude: ["README.md"], swiftSettings: optimise),
        .target(name: "Sashimi", dependencies: ["SSMCore", "CKernels"], exclude: ["README.md"], swiftSettings: optimise),

        // Datasets, training, evaluation and inference over files (MediaIO + models)
        .target(name: "Workflows", dependencies: ["MediaIO", "SSMCore", "S4ND", "Sashimi"], exclude: ["README.md"], swiftSettings: optimise),

        // Command-line tool
        .executableTarget(
            name: "ssm",
            dependencies: [
                "MediaIO", "SSMCore", "S4ND", "Sashimi", "Workflows",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimise),

        // Throughput benchmarks (JSON on stdout)
        .executableTarget(
            name: "ssm-bench",
            dependencies: ["MediaIO", "SSMCore", "S4ND", "Sashimi", "Workflows"],
            path: "Benchmarks/ssm-bench",
            swiftSettings: optimise),

        // Tests
        .target(name: "TestSupport", dependencies: ["SSMCore", "S4ND", "Sashimi"], path: "Tests/TestSupport"),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "TestSupport"]),
        .testTarget(name: "SSMCoreTests", dependencies: ["SSMCore", "TestSupport"]),
        .testTarget(name: "S4NDTests", dependencies: ["S4ND", "SSMCore", "TestSupport"]),
        .testTarget(name: "SashimiTests", dependencies: ["Sashimi", "SSMCore", "TestSupport"]),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "MediaIO", "S4ND", "SSMCore", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "MediaIO"]),
    ],
    swiftLanguageModes: [.v5]
)
