import Foundation
import XCTest

extension TestSupport {
    /// Runs `executable arguments…` with no standard input and returns its exit status, standard
    /// output and standard error. `environment` entries are added to this process's environment
    /// (a `nil` value removes the variable). Standard error goes through a file so a chatty tool
    /// cannot block on a full pipe while we read standard output.
    public static func runProcess(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                                  environment: [String: String?] = [:]) throws -> (status: Int32, out: Data, err: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? errHandle.close(); try? FileManager.default.removeItem(at: errURL) }
        process.standardOutput = out
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return (process.terminationStatus, data, err)
    }

    /// The built `ssm` executable: `$SSM_BINARY`, else next to the test bundle (the products folder
    /// `.build/<triple>/<config>/`), else `.build/{debug,release}/ssm`.
    public static var ssmExecutable: URL? {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SSM_BINARY"], !env.isEmpty {
            candidates.append(URL(fileURLWithPath: env))
        }
        for bundle in Bundle.allBundles + [Bundle.main] {
            var folder = bundle.bundleURL
            for _ in 0..<3 {
                candidates.append(folder.appendingPathComponent("ssm"))
                folder.deleteLastPathComponent()
            }
        }
        for config in ["debug", "release"] {
            candidates.append(repositoryRoot.appendingPathComponent(".build/\(config)/ssm"))
        }
        return candidates.first { url in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && FileManager.default.isExecutableFile(atPath: url.path)
        }
    }

    /// (exit status, stdout, stderr) of `ssm arguments…` run in the repository root, without
    /// `$SSM_MODEL` unless `environment` sets it.
    public static func runSSM(_ arguments: [String], environment: [String: String?] = [:]) throws -> (status: Int32, out: String, err: String) {
        guard let url = ssmExecutable else { throw XCTSkip("ssm binary not found next to the test bundle; build it first") }
        var env: [String: String?] = ["SSM_MODEL": nil]
        for (k, v) in environment { env[k] = v }
        let r = try runProcess(url, arguments, in: repositoryRoot, environment: env)
        return (r.status, String(decoding: r.out, as: UTF8.self), r.err)
    }
}
