import Foundation
import MediaIO
import S4ND
import Sashimi
import SSMCore
import TestSupport
import XCTest
import Workflows

/// Mutation fuzzing of every kind of file the toolkit reads: still images, audio and video from
/// `samples/`, the four shipped model files in `models/`, and small IDX arrays made here.
///
/// Each input is a seed file mutated once — truncated anywhere, random bytes set or bits flipped,
/// bytes of the header region changed, a run of garbage, a chunk duplicated or cut — and, for model
/// files, structured mutations of the safetensors header: the `__metadata__` `config` JSON (a key
/// deleted, a value of the wrong type, negative or huge, an empty or unknown name, an empty class
/// name, `input_channels` 1000), the `format`, a tensor's `dtype` label changed without its bytes,
/// shapes and offsets changed, NaN or an infinity written into a weight. IDX inputs get their
/// magic number, rank and extents mutated too.
///
/// Every input is decoded in this process through the library (``MediaProbe``, ``ImageFile``,
/// ``AudioFile``, ``VideoFile``, ``ClassifierCheckpoint``, ``AudioCheckpoint``,
/// ``AudioClassifierFile``, ``IDXArray``) and must end in one of two ways: a result that holds up
/// (finite samples in range, consistent shapes, finite weights) or a typed error whose text names
/// the file and shows none of the raw texts of an unhandled failure (`DecodingError`, `CodingKeys`,
/// `Swift.`, `NSCocoaErrorDomain`, …). Inputs that must be refused (NaN weights, a relabelled
/// dtype) are refused with the tensor named. No input may take more than 5 seconds; a watchdog
/// stops the process, naming the input, if one runs for a minute.
///
/// The inputs are the same on every run: input `i` is made from its own generator seeded by `i`, so
/// a failure names the input that reproduces it (and keeps a copy of the file). Environment:
///
/// * `SSM_FUZZ_INPUTS=N` runs `N` inputs instead of the default 1,200 (the first 1,200 of any run
///   are the default ones): `SSM_FUZZ_INPUTS=10000 swift test --skip-build --filter FuzzTests`;
/// * `SSM_FUZZ_ONLY=i` runs input `i` alone;
/// * `SSM_FUZZ_VERBOSE=1` prints every input's mutation and outcome.
///
/// A summary line per kind gives runs, clean errors, successes, time and the count of each error
/// reason. A second test sends about 30 of the same inputs through the `ssm` binary (`info`,
/// `classify --model`, `inspect`) and checks that the exit status agrees with the output.
final class FuzzTests: XCTestCase {
    static let defaultInputs = 1200
    static let perInputLimit = 5.0

    func testMutatedInputsFailCleanly() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = Int(environment["SSM_FUZZ_INPUTS"] ?? "") ?? Self.defaultInputs
        XCTAssertGreaterThan(count, 0, "SSM_FUZZ_INPUTS must be a positive integer")
        let verbose = environment["SSM_FUZZ_VERBOSE"] == "1"
        // SSM_FUZZ_ONLY=i runs input i alone (to reproduce a finding).
        let indices = environment["SSM_FUZZ_ONLY"].flatMap(Int.init).map { [$0] } ?? Array(0..<count)
        let fuzzer = try Fuzzer()
        let folder = TestSupport.temporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: folder) }
        let watchdog = Watchdog(limit: 60)
        print("fuzz: \(indices.count) inputs; should the process die, \(watchdog.notePath) names the input it was running")
        watchdog.start()
        defer { watchdog.stop() }

        var stats: [Fuzzer.Kind: KindStats] = [:]
        var findings: [String] = []
        let start = Date()
        var making = 0.0
        for index in indices {
            let made = Date()
            let input = try fuzzer.makeInput(index, in: folder)
            making += Date().timeIntervalSince(made)
            watchdog.begin("input \(index) (\(input.kind.rawValue): \(input.mutation))")
            let t0 = Date()
            let outcome = fuzzer.run(input)
            let seconds = Date().timeIntervalSince(t0)
            watchdog.end()
            var s = stats[input.kind] ?? KindStats()
            s.runs += 1
            if seconds > s.maxSeconds { s.maxSeconds = seconds; s.slowest = "input \(index), \(input.mutation)" }
            s.seconds += seconds
            var problems = outcome.problems
            if seconds > Self.perInputLimit { problems.append(String(format: "took %.1f s (limit %.0f s)", seconds, Self.perInputLimit)) }
            if verbose { print("fuzz input \(index) [\(input.kind.rawValue)] \(input.mutation) → \(outcome.text.isEmpty ? "accepted" : outcome.text)") }
            switch outcome.result {
            case .success: s.successes += 1
            case .failure(let reason): s.errors += 1; s.reasons[reason, default: 0] += 1
            }
            stats[input.kind] = s
            if !problems.isEmpty {
                let kept = Self.keep(input.path)
                findings.append("input \(index) [\(input.kind.rawValue)] \(input.mutation): \(problems.joined(separator: "; ")) (kept as \(kept))")
            }
            try? FileManager.default.removeItem(atPath: input.path)
        }
        let seconds = Date().timeIntervalSince(start)

        var total = KindStats()
        for kind in Fuzzer.Kind.allCases {
            guard let s = stats[kind] else { continue }
            total.runs += s.runs; total.errors += s.errors; total.successes += s.successes
            let reasons = s.reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("fuzz \(kind.rawValue): \(s.runs) runs, \(s.errors) clean errors, \(s.successes) successes, "
                  + String(format: "%.1f s, slowest %.2f s", s.seconds, s.maxSeconds) + " (\(s.slowest)); reasons: \(reasons)")
        }
        print("fuzz: \(total.runs) inputs (\(total.errors) clean errors, \(total.successes) successes) in "
              + String(format: "%.1f s (%.1f s making them)", seconds, making) + ", \(findings.count) finding(s)")
        for f in findings.prefix(40) { print("fuzz finding: \(f)") }

        XCTAssertEqual(total.runs, indices.count)
        XCTAssertTrue(findings.isEmpty, "\(findings.count) input(s) misbehaved; first: \(findings.prefix(10).joined(separator: "\n"))")
        // The mutations must reach both outcomes for every kind, or the harness tests nothing.
        for kind in Fuzzer.Kind.allCases where indices.count >= 400 {
            let s = stats[kind] ?? KindStats()
            XCTAssertGreaterThan(s.errors, s.runs / 10, "\(kind.rawValue): too few inputs were refused")
            XCTAssertGreaterThan(s.successes, 0, "\(kind.rawValue): no input was accepted")
        }
    }

    /// About 30 of the inputs above through the `ssm` binary: the exit status must agree with the
    /// output (0: no `error` in any JSON line; otherwise a message on standard error naming the
    /// file, or for `info` the file's `error` line), and nothing may crash.
    func testMutatedInputsThroughTheCLI() throws {
        guard TestSupport.ssmExecutable != nil else { throw XCTSkip("ssm binary not built") }
        let fuzzer = try Fuzzer()
        let verbose = ProcessInfo.processInfo.environment["SSM_FUZZ_VERBOSE"] == "1"
        let folder = TestSupport.temporaryDirectory("fuzz-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = TestSupport.samplesDirectory.appendingPathComponent("images/fmnist-0-ankle-boot.png").path
        var wanted: [Fuzzer.Kind: Int] = [.image: 4, .audio: 3, .video: 3, .imageClassifier: 10, .videoClassifier: 2,
                                          .sashimi: 2, .audioClassifier: 4]
        var runs = 0
        var findings: [String] = []
        var index = 0
        while wanted.values.contains(where: { $0 > 0 }) && index < 100_000 {
            defer { index += 1 }
            let kind = fuzzer.kind(of: index)
            guard let left = wanted[kind], left > 0 else { continue }
            wanted[kind] = left - 1
            let input = try fuzzer.makeInput(index, in: folder)
            let arguments: [String]
            switch kind {
            case .image, .audio, .video, .idx: arguments = ["info", input.path]
            case .imageClassifier: arguments = left % 2 == 0 ? ["classify", "--model", input.path, image] : ["inspect", input.path]
            case .videoClassifier, .sashimi, .audioClassifier: arguments = ["inspect", input.path]
            }
            findings += try Self.checkCLI(arguments, file: input.path, label: "input \(index) [\(kind.rawValue)] \(input.mutation)", verbose: verbose)
            runs += 1
        }
        // Not model files at all: a folder, a PNG, a text file.
        let text = folder.appendingPathComponent("notes.txt")
        try Data("just some words, not a model\n".utf8).write(to: text)
        for (arguments, file) in [(["classify", "--model", folder.path, image], folder.path),
                                  (["classify", "--model", image, image], image),
                                  (["inspect", text.path], text.path)] {
            findings += try Self.checkCLI(arguments, file: file, label: arguments.joined(separator: " "), verbose: verbose)
            runs += 1
        }
        print("fuzz cli: \(runs) runs, \(findings.count) finding(s)")
        for f in findings { print("fuzz cli finding: \(f)") }
        XCTAssertGreaterThanOrEqual(runs, 30)
        XCTAssertTrue(findings.isEmpty, findings.joined(separator: "\n"))
    }

    static func checkCLI(_ arguments: [String], file: String, label: String, verbose: Bool) throws -> [String] {
        let r = try TestSupport.runSSM(arguments)
        if verbose { print("fuzz cli \(label): ssm \(arguments[0]) → \(r.status); \(r.err.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300))") }
        var problems: [String] = []
        let lines = r.out.split(separator: "\n").map(String.init)
        let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        let errorLines = objects.filter { $0["error"] != nil }
        for crash in ["Fatal error", "Backtracing", "Program crashed", "Segmentation fault", "Illegal instruction"]
            where r.err.contains(crash) || r.out.contains(crash) {
            problems.append("crash text \"\(crash)\"")
        }
        if r.status != 0 && r.status != 1 { problems.append("exit status \(r.status)") }
        if r.status == 0 && !errorLines.isEmpty { problems.append("exit status 0 with an error line") }
        let stderr = r.err.trimmingCharacters(in: .whitespacesAndNewlines)
        if r.status != 0 {
            if arguments[0] == "info" {
                if !errorLines.contains(where: { $0["file"] as? String == file }) { problems.append("exit status \(r.status) without an error line for the file") }
            } else if stderr.isEmpty {
                problems.append("exit status \(r.status) with nothing on standard error")
            } else if !stderr.contains(file) && !errorLines.contains(where: { $0["file"] as? String == file }) {
                problems.append("the message does not name \(file): \(stderr)")
            }
        }
        let messages = [stderr] + errorLines.compactMap { $0["error"] as? String }
        for m in messages { problems += Fuzzer.suspiciousTexts(in: m) }
        return problems.isEmpty ? [] : ["\(label): \(problems.joined(separator: "; ")) (ssm \(arguments.joined(separator: " ")) → \(r.status), stderr: \(stderr.prefix(300)))"]
    }

    struct KindStats {
        var runs = 0, errors = 0, successes = 0
        var maxSeconds = 0.0, seconds = 0.0
        var slowest = ""
        var reasons: [String: Int] = [:]
    }

    /// A copy of an input that misbehaved, kept after the run.
    static func keep(_ path: String) -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ssm-fuzz-findings")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent(URL(fileURLWithPath: path).lastPathComponent)
        try? FileManager.default.removeItem(at: target)
        try? FileManager.default.copyItem(atPath: path, toPath: target.path)
        return target.path
    }
}

/// Stops the process, naming the input, when one input runs far beyond the per-input limit (a hang
/// would otherwise stop the suite without saying where).
final class Watchdog: @unchecked Sendable {
    let limit: Double
    private let lock = NSLock()
    private var current: (String, Date)?
    private var running = true

    init(limit: Double) { self.limit = limit }

    func start() {
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                lock.lock()
                let (alive, item) = (running, current)
                lock.unlock()
                guard alive else { return }
                if let (label, since) = item, Date().timeIntervalSince(since) > limit {
                    FileHandle.standardError.write(Data("fuzz: \(label) has run for over \(Int(limit)) s; stopping\n".utf8))
                    exit(3)
                }
            }
        }
        thread.start()
    }

    /// A file holding the label of the input being run (a crash cannot be caught, but this survives it).
    let notePath = FileManager.default.temporaryDirectory.appendingPathComponent("ssm-fuzz-current-input.txt").path

    func begin(_ label: String) {
        try? Data((label + "\n").utf8).write(to: URL(fileURLWithPath: notePath))
        lock.lock(); current = (label, Date()); lock.unlock()
    }
    func end() { lock.lock(); current = nil; lock.unlock() }
    func stop() { lock.lock(); running = false; lock.unlock() }
}

/// Makes and runs the inputs.
struct Fuzzer {
    enum Kind: String, CaseIterable {
        case image, audio, video
        case imageClassifier = "image-classifier", videoClassifier = "video-classifier"
        case sashimi = "sashimi-model", audioClassifier = "audio-classifier"
        case idx
    }

    /// One mutated file and what must happen to it.
    struct Input {
        var index: Int
        var kind: Kind
        var path: String
        var mutation: String
        /// Why the input must be refused (nil: either outcome is fine).
        var mustFail: String?
        /// Text the error must contain (the tensor at fault).
        var mustName: String?
    }

    struct Outcome {
        enum Result { case success, failure(String) }
        var result: Result
        /// The error's text (empty on success).
        var text = ""
        /// What was wrong with the outcome (empty when it holds up).
        var problems: [String]
    }

    /// Kinds in the order inputs cycle through them (weights: how often each comes).
    static let schedule: [Kind] = {
        let weights: [(Kind, Int)] = [(.image, 10), (.audio, 4), (.video, 4), (.imageClassifier, 8), (.videoClassifier, 4),
                                      (.sashimi, 1), (.audioClassifier, 3), (.idx, 6)]
        var out: [Kind] = []
        for round in 0..<10 { for (kind, w) in weights where round < w { out.append(kind) } }
        return out
    }()

    let seeds: [Kind: [(path: String, bytes: [UInt8])]]
    var limits: MediaLimits = {
        var l = MediaLimits.default
        l.maxAudioSeconds = 30
        l.maxVideoFrames = 200
        l.maxImagePixels = 4_000_000
        l.maxClipElements = 1 << 24
        l.maxFileBytes = 16 << 20
        return l
    }()

    init() throws {
        func files(_ folder: String) throws -> [(String, [UInt8])] {
            let dir = TestSupport.repositoryRoot.appendingPathComponent(folder)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted()
            return try names.map { name in
                let path = dir.appendingPathComponent(name).path
                return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            }
        }
        func model(_ name: String) throws -> [(String, [UInt8])] {
            let path = TestSupport.repositoryRoot.appendingPathComponent("models/\(name)").path
            return [(path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))]
        }
        var s: [Kind: [(path: String, bytes: [UInt8])]] = [:]
        s[.image] = try files("samples/images")
        s[.audio] = try files("samples/audio")
        s[.video] = try files("samples/video")
        s[.imageClassifier] = try model("fashion-mnist-s4nd.safetensors")
        s[.videoClassifier] = try model("moving-items-s4nd.safetensors")
        s[.sashimi] = try model("spoken-digits-sashimi.safetensors")
        s[.audioClassifier] = try model("spoken-digits-classifier.safetensors")
        seeds = s
        for kind in [Kind.image, .audio, .video] where (s[kind] ?? []).isEmpty {
            throw XCTSkip("no seed files for \(kind.rawValue)")
        }
    }

    func kind(of index: Int) -> Kind { Self.schedule[index % Self.schedule.count] }

    // MARK: - Making inputs

    func makeInput(_ index: Int, in folder: URL) throws -> Input {
        var rng = SeededRNG(seed: 0xF022_5EED ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        let kind = self.kind(of: index)
        var input = Input(index: index, kind: kind, path: "", mutation: "")
        var bytes: [UInt8]
        var ext: String
        switch kind {
        case .image, .audio, .video:
            let list = seeds[kind]!
            let seed = list[rng.below(list.count)]
            bytes = seed.bytes
            ext = (seed.path as NSString).pathExtension
            input.mutation = URL(fileURLWithPath: seed.path).lastPathComponent + ": "
                + Self.mutateBytes(&bytes, headerLength: 128, rng: &rng)
        case .imageClassifier, .videoClassifier, .sashimi, .audioClassifier:
            bytes = seeds[kind]![0].bytes
            ext = "safetensors"
            if rng.below(10) < 4 {
                let header = 8 + Int(min(UInt64(bytes.count), Self.littleEndian64(bytes)))
                input.mutation = Self.mutateBytes(&bytes, headerLength: header, rng: &rng)
            } else {
                var st = try SafeTensorsImage(bytes)
                try Self.mutateStructure(&st, &input, rng: &rng)
                bytes = try st.encoded()
            }
        case .idx:
            ext = "idx"
            bytes = Self.mutateIDX(&input, rng: &rng)
        }
        input.path = folder.appendingPathComponent("in\(index)-\(kind.rawValue).\(ext)").path
        try Data(bytes).write(to: URL(fileURLWithPath: input.path))
        return input
    }

    static func littleEndian64(_ b: [UInt8]) -> UInt64 {
        guard b.count >= 8 else { return 0 }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[$1]) << (8 * UInt64($1)) }
    }

    /// One byte-level mutation of `bytes`; `headerLength` bounds the header-region mutations.
    static func mutateBytes(_ bytes: inout [UInt8], headerLength: Int, rng: inout SeededRNG) -> String {
        guard !bytes.isEmpty else { return "empty" }
        let n = bytes.count
        let header = max(1, min(n, headerLength))
        switch rng.below(8) {
        case 0:
            let keep = rng.below(n)
            bytes.removeLast(n - keep)
            return "truncated to \(keep) of \(n) bytes"
        case 1:
            let k = 1 + rng.below(8)
            for _ in 0..<k { bytes[rng.below(n)] = UInt8(rng.below(256)) }
            return "\(k) random bytes set"
        case 2:
            let k = 1 + rng.below(8)
            for _ in 0..<k { bytes[rng.below(n)] ^= UInt8(1 << rng.below(8)) }
            return "\(k) bits flipped"
        case 3, 4:
            let k = 1 + rng.below(4)
            var at: [Int] = []
            for _ in 0..<k { let i = rng.below(header); at.append(i); bytes[i] = UInt8(rng.below(256)) }
            return "header bytes set at \(at)"
        case 5:
            let inHeader = rng.below(2) == 0
            let at = rng.below(inHeader ? header : n), length = min(n - at, 1 + rng.below(64))
            for i in at..<(at + length) { bytes[i] = UInt8(rng.below(256)) }
            return "\(length) garbage bytes at \(at)"
        case 6:
            let at = rng.below(n), length = min(n - at, 1 + rng.below(256)), to = rng.below(n + 1)
            bytes.insert(contentsOf: Array(bytes[at..<(at + length)]), at: to)
            return "\(length) bytes from \(at) duplicated at \(to)"
        default:
            let inHeader = rng.below(2) == 0
            let at = rng.below(inHeader ? header : n), length = min(n - at, 1 + rng.below(256))
            bytes.removeSubrange(at..<(at + length))
            return "\(length) bytes cut at \(at)"
        }
    }

    // MARK: Model files

    static let wrongValues: [(String, Any)] = [
        ("2.5", 2.5), ("-1", -1), ("-7", -7), ("0", 0), ("40", 40), ("4096", 4096), ("1000000", 1_000_000),
        ("2147483648", 2_147_483_648), ("1e30", 1e30), ("\"\"", ""), ("\"bogus\"", "bogus"), ("true", true),
        ("null", NSNull()), ("[]", [Any]()), ("{}", [String: Any]()), ("[1, 2, 3]", [1, 2, 3]),
    ]
    static let nameKeys = ["init", "disc", "kernel", "block", "reparam", "kernel_init", "kernel_disc"]
    static let names = ["bogus", "", "S4D", "diag-lin", "diag-inv", "legs", "zoh", "dss", "exp", "softplus",
                        "dplr", "conv", "sgconv", "ema", "mamba", "s5", "gss", "s4", "s4d"]
    static let formats = ["ssm.image-classifier", "ssm.sashimi-audio", "ssm.audio-classifier", "", "ssm.image-classifier ", "pytorch"]

    static func mutateStructure(_ st: inout SafeTensorsImage, _ input: inout Input, rng: inout SeededRNG) throws {
        let weights = st.tensorNames
        let name = weights[rng.below(weights.count)]
        switch rng.below(16) {
        case 0, 1, 2, 3:  // a value of the configuration
            guard var config = st.config else { input.mutation = "no config"; return }
            let paths = Self.leafPaths(config)
            let path = paths[rng.below(paths.count)]
            let text = path.reduce("") { t, k in if case .index = k { return t + k.text }; return t.isEmpty ? k.text : t + "." + k.text }
            if rng.below(4) == 0 {
                Self.set(&config, at: path, to: nil)
                input.mutation = "config: \(text) deleted"
            } else {
                let (label, value) = wrongValues[rng.below(wrongValues.count)]
                Self.set(&config, at: path, to: value)
                input.mutation = "config: \(text) = \(label)"
            }
            st.config = config
        case 4:  // a kernel, block or initialisation name
            guard var config = st.config else { input.mutation = "no config"; return }
            let key = nameKeys[rng.below(nameKeys.count)], value = names[rng.below(names.count)]
            let path: [PathKey] = config["backbone"] != nil ? [.key("backbone"), .key(key)] : [.key(key)]
            Self.set(&config, at: path, to: value)
            st.config = config
            input.mutation = "config: \(path.map(\.text).joined(separator: ".")) = \"\(value)\""
        case 5:  // class names, input channels, sample rate, quantisation
            guard var config = st.config else { input.mutation = "no config"; return }
            var names = config["class_names"] as? [Any] ?? []
            switch rng.below(6) {
            case 0 where !names.isEmpty:
                let i = rng.below(names.count)
                names[i] = ""
                config["class_names"] = names
                input.mutation = "config: class_names[\(i)] = \"\""
            case 1 where !names.isEmpty:
                names.removeLast()
                config["class_names"] = names
                input.mutation = "config: last class name removed"
            case 2 where config["input_channels"] != nil:
                let v = [1000, 3, 0, 2][rng.below(4)]
                config["input_channels"] = v
                input.mutation = "config: input_channels = \(v)"
            case 3 where config["quantization"] != nil:
                let v = [0, 1, 12, 16, 24, 40, 62, 64, -3][rng.below(9)]
                config["quantization"] = ["bits": v, "kind": "mulaw"]
                input.mutation = "config: quantization.bits = \(v)"
            case 4 where config["sample_rate"] != nil:
                let v = [0, -8000, 999, 192_001, 16000][rng.below(5)]
                config["sample_rate"] = v
                input.mutation = "config: sample_rate = \(v)"
            default:
                let v = ["sgconv", "conv", "dplr"][rng.below(3)]
                if config["backbone"] != nil {
                    var b = config["backbone"] as? [String: Any] ?? [:]
                    b["kernel"] = v; b["kernel_dim"] = 1 << 40; b["l_max"] = 8192
                    config["backbone"] = b
                } else {
                    config["kernel"] = v; config["kernel_dim"] = 1 << 40
                }
                input.mutation = "config: kernel \(v) with kernel_dim 2^40"
            }
            st.config = config
        case 6:  // the configuration text itself, or the format
            switch rng.below(8) {
            case 0: st.metadata?["config"] = nil; input.mutation = "config deleted"
            case 1: st.metadata = nil; input.mutation = "__metadata__ deleted"
            case 2, 3:
                let format = formats[rng.below(formats.count)]
                st.metadata?["format"] = format
                input.mutation = "format = \"\(format)\""
            default:
                let text = ["", "{", "[1]", "null", "42", "{}", "\"config\"", "{\"d_model\": }", "[]"][rng.below(9)]
                st.metadata?["config"] = text
                input.mutation = "config text = \(text.isEmpty ? "empty" : text)"
            }
        case 7, 8:  // the dtype label, bytes unchanged
            let dtype = ["I32", "I32", "I32", "F16", "BF16", "U8", "I8", "BOOL", "I64", "F64", "F8_E4M3", "f32", ""][rng.below(13)]
            st.setDType(name, dtype)
            input.mutation = "dtype of \(name) = \"\(dtype)\""
            input.mustFail = "its dtype label says \(dtype) over F32 bytes"
            input.mustName = name
        case 9:  // the dtype label with a shape that fits the bytes
            var shape = st.shape(name)
            let (dtype, factor) = [("F16", 2), ("BF16", 2), ("I16", 2), ("U8", 4), ("I8", 4)][rng.below(5)]
            if shape.isEmpty { shape = [factor] } else { shape[shape.count - 1] *= factor }
            st.setDType(name, dtype)
            st.setShape(name, shape)
            input.mutation = "dtype of \(name) = \(dtype), shape \(shape)"
            input.mustFail = "its dtype label says \(dtype) over F32 bytes"
            input.mustName = name
        case 10:  // the shape
            var shape = st.shape(name)
            switch rng.below(5) {
            case 0 where !shape.isEmpty:
                let i = rng.below(shape.count)
                shape[i] = [shape[i] + 1, max(0, shape[i] - 1), shape[i] * 2, 0, 1 << 40, 1 << 62][rng.below(6)]
            case 1: shape.reverse()
            case 2: shape = [shape.reduce(1, *)]
            case 3: shape.append(1)
            default: shape = Array(shape.dropLast())
            }
            st.setShape(name, shape)
            input.mutation = "shape of \(name) = \(shape)"
        case 11:  // the offsets
            var (begin, end) = st.offsets(name)
            switch rng.below(5) {
            case 0: let k = 1 + rng.below(8); begin += k; end += k
            case 1: end = 1 << 62
            case 2: swap(&begin, &end)
            case 3: begin = max(0, begin - 4)
            default:
                // Swap with a tensor of the same byte size (both stay valid, their values trade places).
                let size = end - begin
                if let other = weights.first(where: { $0 != name && st.offsets($0).1 - st.offsets($0).0 == size }) {
                    let o = st.offsets(other)
                    st.setOffsets(other, o: (begin, end))
                    (begin, end) = o
                    input.mutation = "offsets of \(name) and \(other) swapped"
                }
            }
            st.setOffsets(name, o: (begin, end))
            if input.mutation.isEmpty { input.mutation = "offsets of \(name) = [\(begin), \(end)]" }
        case 12:  // an entry removed or one added
            if rng.below(2) == 0 {
                st.removeEntry(name)
                input.mutation = "entry \(name) removed (bytes kept)"
            } else {
                st.appendTensor("extra.weight", shape: [3], values: [1, 2, 3])
                input.mutation = "tensor extra.weight added"
            }
        default:  // NaN or an infinity in a weight
            let count = st.shape(name).reduce(1, *)
            guard count > 0 else { input.mutation = "empty tensor \(name)"; return }
            let k = rng.below(count)
            let (label, bits): (String, UInt32) = [("NaN", 0x7FC0_0000), ("signalling NaN", 0x7F80_0001), ("-NaN", 0xFFC0_0000),
                                                   ("+Inf", 0x7F80_0000), ("-Inf", 0xFF80_0000)][rng.below(5)]
            st.writeFloatBits(name, element: k, bits: bits)
            input.mutation = "\(label) written into \(name)[\(k)]"
            input.mustFail = "a weight holds \(label)"
            input.mustName = name
        }
    }

    enum PathKey {
        case key(String), index(Int)
        var text: String {
            switch self { case .key(let k): return k; case .index(let i): return "[\(i)]" }
        }
    }

    /// Paths of every value in a JSON object (objects and arrays included, and their members).
    static func leafPaths(_ object: [String: Any], prefix: [PathKey] = []) -> [[PathKey]] {
        var out: [[PathKey]] = []
        for key in object.keys.sorted() {
            let path = prefix + [.key(key)]
            out.append(path)
            if let inner = object[key] as? [String: Any] { out += leafPaths(inner, prefix: path) }
            if let array = object[key] as? [Any] { out += array.indices.map { path + [.index($0)] } }
        }
        return out
    }

    /// Sets (or, with nil, removes) the value at `path`.
    static func set(_ object: inout [String: Any], at path: [PathKey], to value: Any?) {
        guard case .key(let key) = path.first! else { return }
        if path.count == 1 { object[key] = value; return }
        let rest = Array(path.dropFirst())
        if var inner = object[key] as? [String: Any] {
            set(&inner, at: rest, to: value)
            object[key] = inner
        } else if var array = object[key] as? [Any], case .index(let i) = rest[0], rest.count == 1 {
            if let value { array[i] = value } else { array.remove(at: i) }
            object[key] = array
        }
    }

    // MARK: IDX

    /// A small IDX array (sometimes gzip-compressed), mutated.
    static func mutateIDX(_ input: inout Input, rng: inout SeededRNG) -> [UInt8] {
        let shapes = [[20], [6, 7, 5], [3, 4], [2, 3, 4, 2], [0], [1, 1]]
        let shape = shapes[rng.below(shapes.count)]
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
        for s in shape { bytes += [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)] }
        bytes += (0..<shape.reduce(1, *)).map { _ in UInt8(rng.below(256)) }
        var what: String
        switch rng.below(7) {
        case 0:
            let i = rng.below(4), v = UInt8(rng.below(256))
            bytes[i] = v
            what = "magic byte \(i) = \(v)"
        case 1:
            let v = [0, 5, 9, 255, UInt8(shape.count + 1)][rng.below(5)]
            bytes[3] = UInt8(v)
            what = "rank = \(v)"
        case 2:
            let d = rng.below(shape.count), o = 4 + 4 * d
            let v: UInt32 = [0, 1, UInt32(shape[d] + 1), 0xFFFF_FFFF, 0x8000_0000, 1 << 20][rng.below(6)]
            bytes[o] = UInt8(v >> 24 & 255); bytes[o + 1] = UInt8(v >> 16 & 255); bytes[o + 2] = UInt8(v >> 8 & 255); bytes[o + 3] = UInt8(v & 255)
            what = "extent \(d) = \(v)"
        case 3:
            let keep = rng.below(bytes.count)
            bytes.removeLast(bytes.count - keep)
            what = "truncated to \(keep) bytes"
        case 4:
            bytes += [UInt8](repeating: 7, count: 1 + rng.below(5))
            what = "trailing bytes"
        case 5 where bytes.count > 4 + 4 * shape.count:
            let i = 4 + 4 * shape.count + rng.below(bytes.count - 4 - 4 * shape.count)
            bytes[i] ^= 0xFF
            what = "data byte \(i) inverted"
        default:
            what = mutateBytes(&bytes, headerLength: 4 + 4 * shape.count, rng: &rng)
        }
        input.mutation = "shape \(shape): \(what)"
        if rng.below(3) == 0 {
            bytes = gzipStored(bytes)
            input.mutation += ", gzip"
            if rng.below(2) == 0 { input.mutation += ", then " + mutateBytes(&bytes, headerLength: 10, rng: &rng) }
        }
        return bytes
    }

    /// A gzip stream of `data` in stored (uncompressed) deflate blocks.
    static func gzipStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var start = 0
        repeat {
            let length = min(65535, data.count - start)
            let last = start + length == data.count
            out.append(last ? 1 : 0)
            out += [UInt8(length & 255), UInt8(length >> 8), UInt8(~length & 255), UInt8((~length >> 8) & 255)]
            out += data[start..<(start + length)]
            start += length
        } while start < data.count
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        for v in [crc, UInt32(data.count)] { out += (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 255) } }
        return out
    }

    // MARK: - Running inputs

    func run(_ input: Input) -> Outcome {
        var problems: [String] = []
        func check(_ condition: Bool, _ what: @autoclosure () -> String) { if !condition { problems.append(what()) } }
        do {
            switch input.kind {
            case .image, .audio, .video:
                let info = try MediaProbe.probe(input.path, limits: limits)
                switch info {
                case .image(let i):
                    check(i.width > 0 && i.height > 0 && (1...4).contains(i.channels), "image info \(i)")
                    let image = try ImageFile.read(input.path, limits: limits)
                    check((1...4).contains(image.channels) && image.width > 0 && image.height > 0
                          && image.pixels.count == image.channels * image.width * image.height, "image shape \(image.shape)")
                    check(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "image samples outside [0, 1] or not finite")
                case .audio(let a):
                    check(a.sampleRate > 0 && a.channels > 0 && a.frames >= 0, "audio info \(a)")
                    let audio = try AudioFile.read(input.path, limits: limits)
                    check(audio.sampleRate > 0 && audio.channels >= 1 && audio.samples.count == audio.channels * audio.frames,
                          "audio shape \(audio.channels)×\(audio.frames) with \(audio.samples.count) samples")
                    check(audio.samples.allSatisfy(\.isFinite), "audio samples not finite")
                case .video(let v):
                    check(v.width > 0 && v.height > 0 && v.frames >= 0, "video info \(v)")
                    let clip = try VideoFile.read(input.path, options: VideoDecodeOptions(width: 32, height: 24, threads: 1), limits: limits)
                    check(clip.frames >= 1 && clip.channels == 3 && clip.height == 24 && clip.width == 32
                          && clip.pixels.count == clip.frames * 3 * 24 * 32 && clip.timestamps.count == clip.frames,
                          "video clip shape \(clip.shape), \(clip.pixels.count) samples, \(clip.timestamps.count) timestamps")
                    check(clip.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "video samples outside [0, 1] or not finite")
                }
            case .imageClassifier, .videoClassifier:
                let (model, _) = try ClassifierCheckpoint.load(URL(fileURLWithPath: input.path))
                check(model.config.problems.isEmpty, "loaded a configuration with problems: \(model.config.problems)")
                check((2...3).contains(model.axes), "model with \(model.axes) axes")
                check(model.config.classNames.isEmpty || model.config.classNames.count == model.config.classes, "class names")
                problems += Self.weightProblems(model)
            case .sashimi:
                let (model, _) = try AudioCheckpoint.load(URL(fileURLWithPath: input.path))
                check(model.config.problems.isEmpty, "loaded a configuration with problems: \(model.config.problems)")
                problems += Self.weightProblems(model)
            case .audioClassifier:
                let model = try AudioClassifierFile.load(URL(fileURLWithPath: input.path))
                check(model.config.problems.isEmpty, "loaded a configuration with problems: \(model.config.problems)")
                check((1...12).contains(model.config.quantization.bits), "quantization bits \(model.config.quantization.bits)")
                problems += Self.weightProblems(model)
            case .idx:
                let array = try IDXArray.read(URL(fileURLWithPath: input.path), maxBytes: 1 << 20)
                check((1...4).contains(array.shape.count) && array.shape.allSatisfy { $0 >= 0 }
                      && array.shape.reduce(1, *) == array.bytes.count, "IDX shape \(array.shape) with \(array.bytes.count) bytes")
            }
            if let why = input.mustFail { problems.append("accepted although \(why)") }
            return Outcome(result: .success, problems: problems)
        } catch {
            problems += errorProblems(error, input)
            return Outcome(result: .failure(Self.reasonName(error)), text: "\(error)", problems: problems)
        }
    }

    static func weightProblems(_ layer: Layer) -> [String] {
        let bad = layer.namedParameters.filter { $0.1.value.data.contains { !$0.isFinite } }.map(\.0)
        return bad.isEmpty ? [] : ["loaded with non-finite weights: \(bad.prefix(3).joined(separator: ", "))"]
    }

    /// What is wrong with an error as the user would read it.
    func errorProblems(_ error: Error, _ input: Input) -> [String] {
        let text = "\(error)"
        var problems: [String] = []
        if let e = error as? MediaError, e.file != input.path { problems.append("MediaError names \(e.file)") }
        if !text.contains(input.path) { problems.append("the error does not name the file: \(text)") }
        problems += Self.suspiciousTexts(in: text)
        if text.contains("not valid JSON"), input.kind != .idx, Self.configIsValidJSON(input.path) == true {
            problems.append("\"not valid JSON\" for a file whose header and configuration are valid JSON: \(text)")
        }
        if let name = input.mustName, !text.contains(name) { problems.append("the error does not name tensor \(name): \(text)") }
        if [Kind.image, .audio, .video, .idx].contains(input.kind), !(error is MediaError) {
            problems.append("not a MediaError: \(type(of: error)): \(text)")
        }
        return problems
    }

    /// Raw texts of failures nobody handled, found in `text`.
    static func suspiciousTexts(in text: String) -> [String] {
        var found: [String] = []
        for s in ["DecodingError", "CodingKeys", "Swift.", "NSCocoaErrorDomain", "Error Domain=", "ImageClassifierConfig(",
                  "AudioModelConfig(", "SashimiConfig(", "AudioClassifierConfig(", "Optional("] where text.contains(s) {
            found.append("raw text \"\(s)\" in: \(text)")
        }
        if text.range(of: "header length [0-9]{10,}", options: .regularExpression) != nil {
            found.append("an implausible header length in: \(text)")
        }
        return found
    }

    /// Whether the file's safetensors header is valid JSON and its configuration (if any) too;
    /// nil when the header itself does not parse.
    static func configIsValidJSON(_ path: String) -> Bool? {
        guard let bytes = try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), bytes.count >= 8 else { return nil }
        let n = littleEndian64(bytes)
        guard n <= UInt64(bytes.count - 8),
              let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + Int(n))])) as? [String: Any] else { return nil }
        guard let config = (header["__metadata__"] as? [String: Any])?["config"] as? String else { return true }
        return (try? JSONSerialization.jsonObject(with: Data(config.utf8), options: .fragmentsAllowed)) != nil
    }

    /// A short name of why an input was refused: the media reason, the safetensors rule, or the loader's case.
    static func reasonName(_ error: Error) -> String {
        switch error {
        case let e as MediaError: return e.reason.name
        case let e as SafeTensorsError: return "safetensors." + caseName(e.reason)
        case let e as ClassifierCheckpoint.LoadError: return "classifier." + caseName(e)
        case let e as AudioCheckpoint.LoadError: return "audio-model." + caseName(e)
        default: return "\(type(of: error))"
        }
    }

    static func caseName(_ value: Any) -> String {
        if let reason = value as? SafeTensorsError.Reason {
            switch reason {
            case .headerNotUTF8: return "headerNotUTF8"
            case .headerNotJSONObject: return "headerNotJSONObject"
            default: break
            }
        }
        let mirror = Mirror(reflecting: value)
        if let label = mirror.children.first?.label { return label }
        return String(describing: value).prefix { $0.isLetter }.description
    }
}

/// A safetensors file taken apart for editing: the header as JSON objects and the byte buffer.
struct SafeTensorsImage {
    var header: [String: Any]
    var buffer: [UInt8]

    init(_ bytes: [UInt8]) throws {
        let n = Int(Fuzzer.littleEndian64(bytes))
        guard let h = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] else {
            throw CocoaError(.coderInvalidValue)
        }
        header = h
        buffer = Array(bytes[(8 + n)...])
    }

    var tensorNames: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

    var metadata: [String: String]? {
        get { header["__metadata__"] as? [String: String] }
        set { header["__metadata__"] = newValue }
    }

    var config: [String: Any]? {
        get { metadata?["config"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } }
        set {
            let data = try! JSONSerialization.data(withJSONObject: newValue ?? [:], options: [.sortedKeys])
            metadata?["config"] = String(decoding: data, as: UTF8.self)
        }
    }

    private func entry(_ name: String) -> [String: Any] { header[name] as? [String: Any] ?? [:] }
    private mutating func update(_ name: String, _ change: (inout [String: Any]) -> Void) {
        var e = entry(name)
        change(&e)
        header[name] = e
    }

    func shape(_ name: String) -> [Int] { (entry(name)["shape"] as? [Int]) ?? [] }
    func offsets(_ name: String) -> (Int, Int) {
        let o = entry(name)["data_offsets"] as? [Int] ?? [0, 0]
        return (o[0], o[1])
    }
    mutating func setShape(_ name: String, _ shape: [Int]) { update(name) { $0["shape"] = shape } }
    mutating func setDType(_ name: String, _ dtype: String) { update(name) { $0["dtype"] = dtype } }
    mutating func setOffsets(_ name: String, o: (Int, Int)) { update(name) { $0["data_offsets"] = [o.0, o.1] } }
    mutating func removeEntry(_ name: String) { header[name] = nil }

    mutating func appendTensor(_ name: String, shape: [Int], values: [Float]) {
        let begin = buffer.count
        for v in values { buffer += (0..<4).map { UInt8(v.bitPattern >> (8 * UInt32($0)) & 255) } }
        header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [begin, buffer.count]] as [String: Any]
    }

    mutating func writeFloatBits(_ name: String, element: Int, bits: UInt32) {
        let at = offsets(name).0 + 4 * element
        for k in 0..<4 { buffer[at + k] = UInt8(bits >> (8 * UInt32(k)) & 255) }
    }

    func encoded() throws -> [UInt8] {
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        let n = UInt64(json.count)
        return (0..<8).map { UInt8(n >> (8 * UInt64($0)) & 255) } + json + buffer
    }
}

extension SeededRNG {
    /// A uniform integer in `0..<n` (`n` > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Defects the fuzzer found, each reproduced by one specific input.
final class FuzzRegressionTests: XCTestCase {
    static let models = TestSupport.repositoryRoot.appendingPathComponent("models")
    var folder: URL!

    override func setUp() { folder = TestSupport.temporaryDirectory("fuzz-regression") }
    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    /// The shipped model `name` edited by `change`, written to a temporary file.
    func edited(_ name: String, _ change: (inout SafeTensorsImage) throws -> Void) throws -> URL {
        var image = try SafeTensorsImage([UInt8](Data(contentsOf: Self.models.appendingPathComponent(name))))
        try change(&image)
        let url = folder.appendingPathComponent("edited-" + name)
        try Data(image.encoded()).write(to: url)
        return url
    }

    /// The shipped model `name` with its configuration edited.
    func withConfig(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> URL {
        try edited(name) { image in
            var config = image.config!
            change(&config)
            image.config = config
        }
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "loaded" } catch { return "\(error)" }
    }

    func loadClassifier(_ url: URL) -> String { message { try ClassifierCheckpoint.load(url) } }
    func loadAudioModel(_ url: URL) -> String { message { try AudioCheckpoint.load(url) } }
    func loadAudioClassifier(_ url: URL) -> String { message { try AudioClassifierFile.load(url) } }

    /// Fuzz input: "dtype of layers.2.layer.output_linear.0.weight = I32" (video classifier). The
    /// F32 bytes relabelled I32 keep their length, were read as integers and loaded as (finite,
    /// meaningless) weights.
    func testWeightsRelabelledAsIntegersAreRejectedNamingTheTensor() throws {
        let tensor = "layers.2.layer.output_linear.0.weight"
        let video = try edited("moving-items-s4nd.safetensors") { $0.setDType(tensor, "I32") }
        let text = loadClassifier(video)
        XCTAssertTrue(text.hasPrefix(video.path + ": weight '\(tensor)' is stored as I32; model weights are floating point"), text)
        let head = try edited("spoken-digits-classifier.safetensors") { $0.setDType("head.weight", "I32") }
        XCTAssertTrue(loadAudioClassifier(head).contains("weight 'head.weight' is stored as I32"), loadAudioClassifier(head))
        let embedding = try edited("spoken-digits-sashimi.safetensors") { $0.setDType("embedding.weight", "I32") }
        XCTAssertTrue(loadAudioModel(embedding).contains("weight 'embedding.weight' is stored as I32"), loadAudioModel(embedding))
        // Same bytes, U8 with four times the elements: also refused, naming the tensor.
        let bytes = try edited("fashion-mnist-s4nd.safetensors") { $0.setDType("decoder.bias", "U8"); $0.setShape("decoder.bias", [40]) }
        XCTAssertTrue(loadClassifier(bytes).contains("weight 'decoder.bias' is stored as U8"), loadClassifier(bytes))
        // The file itself stays readable: the dtype is recorded, the values converted.
        let file = try SafeTensors.read(video)
        XCTAssertEqual(file.dtypes[tensor], .I32)
        XCTAssertEqual(file.dtypes["decoder.bias"], .F32)
    }

    /// Fuzz inputs: "config deleted" (image classifier) and "d_state = 2.5" (video classifier),
    /// both reported as "the configuration is not valid JSON".
    func testConfigurationErrorsNameTheField() throws {
        let deleted = try edited("fashion-mnist-s4nd.safetensors") { $0.metadata?["config"] = nil }
        XCTAssertEqual(loadClassifier(deleted), deleted.path + ": invalid model configuration: the metadata has no \"config\"")
        let fraction = try withConfig("moving-items-s4nd.safetensors") { $0["d_state"] = 2.5 }
        XCTAssertEqual(loadClassifier(fraction), fraction.path + ": invalid model configuration: \"d_state\" must be an integer, got 2.5")
        let huge = try withConfig("fashion-mnist-s4nd.safetensors") { $0["layers"] = 1e30 }
        XCTAssertEqual(loadClassifier(huge), huge.path + ": invalid model configuration: \"layers\" = 1e+30 is out of range for an integer")
        let float = try withConfig("fashion-mnist-s4nd.safetensors") { $0["dt_min"] = 1e39 }
        XCTAssertEqual(loadClassifier(float), float.path + ": invalid model configuration: \"dt_min\" = 1e+39 is out of range")
        let nested = try withConfig("spoken-digits-sashimi.safetensors") { c in
            var b = c["backbone"] as! [String: Any]; b["n_layers"] = 2.5; c["backbone"] = b
        }
        XCTAssertTrue(loadAudioModel(nested).hasSuffix("invalid model configuration: \"backbone.n_layers\" must be an integer, got 2.5"), loadAudioModel(nested))
        let names = try withConfig("spoken-digits-classifier.safetensors") { $0["class_names"] = [1, 2] }
        XCTAssertTrue(loadAudioClassifier(names).hasSuffix("\"class_names[0]\" must be a string"), loadAudioClassifier(names))
        let array = try edited("fashion-mnist-s4nd.safetensors") { $0.metadata?["config"] = "[1]" }
        XCTAssertTrue(loadClassifier(array).hasSuffix("the configuration is not a JSON object"), loadClassifier(array))
        let broken = try edited("fashion-mnist-s4nd.safetensors") { $0.metadata?["config"] = "{\"d_model\": }" }
        XCTAssertTrue(loadClassifier(broken).hasSuffix("the configuration is not valid JSON"), loadClassifier(broken))
    }

    /// Fuzz input: "kernel conv with kernel_dim 2^40" (video classifier): the process died
    /// allocating 2^47 bytes of conv taps; the same for a SaShiMi model with l_max or kernel_dim huge.
    func testKernelLengthsCannotAskForUnboundedMemory() throws {
        let video = try withConfig("moving-items-s4nd.safetensors") { $0["kernel"] = "conv"; $0["kernel_dim"] = 1 << 40 }
        XCTAssertEqual(loadClassifier(video), video.path + ": invalid model configuration: kernel_dim must be in 1…4096, got 1099511627776")
        let audio = try withConfig("spoken-digits-sashimi.safetensors") { c in
            var b = c["backbone"] as! [String: Any]; b["kernel"] = "conv"; b["l_max"] = 1 << 40; c["backbone"] = b
        }
        XCTAssertTrue(loadAudioModel(audio).hasSuffix("backbone.l_max must be in 1…1048576, got 1099511627776"), loadAudioModel(audio))
        var config = SashimiConfig()
        config.kernel = "conv"; config.lMax = 16384; config.kernelDim = 1 << 21
        XCTAssertEqual(config.problems, ["kernel_dim must be in 1…1048576, got 2097152"])
        config.kernelDim = 1 << 20
        XCTAssertEqual(config.problems, [])
    }

    /// Fuzz input: "quantization.bits = 40" (audio classifier): its configuration does not check the
    /// bits, so loading allocated a 2^40-row embedding and the process died.
    func testAudioClassifierQuantizationBitsAreChecked() throws {
        for bits in [40, 24, 0] {
            let url = try withConfig("spoken-digits-classifier.safetensors") { $0["quantization"] = ["bits": bits, "kind": "mulaw"] }
            XCTAssertEqual(loadAudioClassifier(url), url.path + ": invalid model configuration: quantization.bits must be in 1…12, got \(bits)")
        }
    }

    /// A configuration that does not describe the file's weights fails on the tensors that fix
    /// the model's size, before the model is built (which would allocate, and for some kernels
    /// compute, for as long as the configuration asks).
    func testConfigurationThatDoesNotFitTheWeightsFailsBeforeTheModelIsBuilt() throws {
        let wide = try withConfig("fashion-mnist-s4nd.safetensors") { $0["d_model"] = 4096 }
        XCTAssertEqual(loadClassifier(wide), wide.path + ": weight 'encoder.weight' has shape [64, 1], expected [4096, 1]")
        let classes = try withConfig("fashion-mnist-s4nd.safetensors") { $0["classes"] = 100_000; $0["class_names"] = [String]() }
        XCTAssertEqual(loadClassifier(classes), classes.path + ": weight 'decoder.weight' has shape [10, 64], expected [100000, 64]")
        let audio = try withConfig("spoken-digits-sashimi.safetensors") { c in
            var b = c["backbone"] as! [String: Any]; b["d_model"] = 4096; c["backbone"] = b
        }
        XCTAssertTrue(loadAudioModel(audio).hasSuffix(": weight 'embedding.weight' has shape [256, 64], expected [256, 4096]"), loadAudioModel(audio))
        let pools = try withConfig("spoken-digits-classifier.safetensors") { $0["pool"] = [4, 4, 4, 4, 4, 4] }
        XCTAssertTrue(loadAudioClassifier(pools).hasSuffix(": weight 'head.weight' has shape [10, 256], expected [10, 2048]"), loadAudioClassifier(pools))
        // Another kernel: its weights are named differently. DPLR's initialisation alone took over a
        // minute at the file's width in a debug build; the names are checked on a 2-wide copy.
        let start = Date()
        let dplr = try withConfig("fashion-mnist-s4nd.safetensors") { $0["kernel"] = "dplr" }
        let text = loadClassifier(dplr)
        XCTAssertTrue(text.hasPrefix(dplr.path + ": missing weight 'layers.0.layer.kernel."), text)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        let layers = try withConfig("fashion-mnist-s4nd.safetensors") { $0["layers"] = 256 }
        XCTAssertEqual(loadClassifier(layers), layers.path + ": missing weight 'layers.10.layer.D'")
        // The shipped files themselves load.
        for name in ["fashion-mnist-s4nd.safetensors", "moving-items-s4nd.safetensors"] {
            XCTAssertNoThrow(try ClassifierCheckpoint.load(Self.models.appendingPathComponent(name)))
        }
        XCTAssertNoThrow(try AudioCheckpoint.load(Self.models.appendingPathComponent("spoken-digits-sashimi.safetensors")))
        XCTAssertNoThrow(try AudioClassifierFile.load(Self.models.appendingPathComponent("spoken-digits-classifier.safetensors")))
    }

    /// `--model` naming a folder, or a file that is not safetensors at all.
    func testAFolderOrAFileOfAnotherFormatSaysSo() throws {
        let text = loadClassifier(folder)
        XCTAssertEqual(text, folder.path + ": is a directory, not a safetensors file")
        let png = TestSupport.samplesDirectory.appendingPathComponent("images/fmnist-0-ankle-boot.png")
        XCTAssertEqual(loadClassifier(png), png.path + ": not a safetensors file (it does not start with an 8-byte header length and a JSON header)")
        let missing = folder.appendingPathComponent("nothing.safetensors")
        XCTAssertEqual(loadAudioModel(missing), missing.path + ": no such file")
    }
}
