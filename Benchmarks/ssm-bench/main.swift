// Throughput benchmarks. Each suite prints one JSON object per measurement on stdout.
//   swift run -c release ssm-bench [suite ...]      (no suite = all)
import Foundation

let suites: [String: () throws -> Void] = [
    "kernels": kernelsSuite,
    "blocks": blocksSuite,
    "safetensors": safetensorsSuite,
    "core-ops": coreOpsSuite,
    "s4": s4Suite,
    "media": runMediaBenchmarks,
    "s4nd": s4ndSuite,
    "s4nd-train": s4ndTrainSuite,
    "s4nd-infer": s4ndInferSuite,
    "sashimi": sashimiSuite,
    "video": videoSuite,
]

let requested = Array(CommandLine.arguments.dropFirst())
let names = requested.isEmpty ? suites.keys.sorted() : requested
for name in names {
    guard let run = suites[name] else {
        FileHandle.standardError.write("unknown suite '\(name)'; known: \(suites.keys.sorted().joined(separator: ", "))\n".data(using: .utf8)!)
        exit(2)
    }
    try run()
}
