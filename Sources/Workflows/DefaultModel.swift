import Foundation

/// Finding the classifier used when no model file is named.
///
/// Order: `$SSM_MODEL` if set (it must then exist), else `models/fashion-mnist-s4nd.safetensors` in
/// the nearest folder above the running executable that has one (so a binary under
/// `<package>/.build/<config>/` finds the model shipped in `<package>/models/`).
public enum DefaultModel {
    public static let relativePath = "models/fashion-mnist-s4nd.safetensors"
    public static let environmentVariable = "SSM_MODEL"

    public enum LocateError: Error, CustomStringConvertible, Equatable {
        /// `$SSM_MODEL` names a file that does not exist.
        case environmentFileMissing(String)
        /// No default model above `searchedFrom`.
        case notFound(searchedFrom: String)

        public var description: String {
            switch self {
            case .environmentFileMissing(let p):
                return "\(p): no such model file (named by $\(DefaultModel.environmentVariable))"
            case .notFound(let dir):
                return """
                    no model given and no default model found (looked for \(DefaultModel.relativePath) in \(dir) \
                    and the folders above it; $\(DefaultModel.environmentVariable) is not set). Train one and pass it \
                    with --model, e.g.:
                      ssm dataset import-idx train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz --out data/train --fashion-mnist
                      ssm train-classifier --data data/train --out runs/fashion
                      ssm classify --model runs/fashion/model.safetensors IMAGE.png
                    or copy runs/fashion/model.safetensors to \(DefaultModel.relativePath) in the package.
                    """
            }
        }
    }

    /// The running executable, symlinks resolved.
    public static var executableURL: URL {
        let proc = URL(fileURLWithPath: "/proc/self/exe")
        if FileManager.default.fileExists(atPath: proc.path) { return proc.resolvingSymlinksInPath() }
        if let p = Bundle.main.executableURL { return p.resolvingSymlinksInPath() }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath()
    }

    /// The default model file, or a ``LocateError`` telling how to get one.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: URL = executableURL) throws -> URL {
        if let p = environment[environmentVariable], !p.isEmpty {
            guard FileManager.default.fileExists(atPath: p) else { throw LocateError.environmentFileMissing(p) }
            return URL(fileURLWithPath: p)
        }
        let start = executable.deletingLastPathComponent()
        var folder = start
        while true {
            let candidate = folder.appendingPathComponent(relativePath)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            if folder.path == "/" || folder.path.isEmpty { break }
            folder.deleteLastPathComponent()
        }
        throw LocateError.notFound(searchedFrom: start.path)
    }
}
