import Foundation

/// Finding the classifier used when no model file is named.
///
/// Order: `$SSM_MODEL` if set (it must then exist), else `models/fashion-mnist-s4nd.safetensors` in
/// the nearest folder above the running executable that has one (so a binary under
/// `<package>/.build/<config>/` finds the model shipped in `<package>/models/`).
public enum DefaultModel {
    public static let relativePath = "models/fashion-mnist-s4nd.safetensors"
    public static let environmentVariable = "SSM_MODEL"
    /// The shipped video classifier (`ssm classify` on video files, `ssm batch`) and its variable.
    public static let videoRelativePath = "models/moving-items-s4nd.safetensors"
    public static let videoEnvironmentVariable = "SSM_VIDEO_MODEL"
    /// The shipped SaShiMi audio model (`ssm generate`, `ssm score`) and its variable.
    public static let audioRelativePath = "models/spoken-digits-sashimi.safetensors"
    public static let audioEnvironmentVariable = "SSM_AUDIO_MODEL"
    /// The shipped spoken-digit classifier (`ssm audio-metrics`, `ssm classify` on audio files).
    public static let audioClassifierRelativePath = "models/spoken-digits-classifier.safetensors"
    public static let audioClassifierEnvironmentVariable = "SSM_AUDIO_CLASSIFIER"

    public enum LocateError: Error, CustomStringConvertible, Equatable {
        /// `$SSM_MODEL` names a file that does not exist.
        case environmentFileMissing(String, variable: String = DefaultModel.environmentVariable)
        /// No default model above `searchedFrom`.
        case notFound(searchedFrom: String)
        /// No default audio model above `searchedFrom`.
        case audioNotFound(searchedFrom: String)
        /// No default video model above `searchedFrom`.
        case videoNotFound(searchedFrom: String)

        public var description: String {
            switch self {
            case let .environmentFileMissing(p, variable):
                return "\(p): no such model file (named by $\(variable))"
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
            case .videoNotFound(let dir):
                return """
                    no video model given and no default video model found (looked for \(DefaultModel.videoRelativePath) in \(dir) \
                    and the folders above it; $\(DefaultModel.videoEnvironmentVariable) is not set). Train one and pass it \
                    with --video-model, e.g.:
                      bash scripts/make-moving-digits.sh data/moving
                      ssm train-classifier --data data/moving/train --out runs/moving --frames 8 --size 32
                      ssm classify --video-model runs/moving/model.safetensors CLIP.mp4
                    """
            case .audioNotFound(let dir):
                return """
                    no model given and no default audio model found (looked for \(DefaultModel.audioRelativePath) in \(dir) \
                    and the folders above it; $\(DefaultModel.audioEnvironmentVariable) is not set). Train one and pass it \
                    with --model, e.g.:
                      bash scripts/make-spoken-digits.sh data/digits
                      ssm train-sashimi --data data/digits/train --val data/digits/val --out runs/digits
                      ssm generate --model runs/digits/model.safetensors --seconds 1 --out x.wav
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
        try locate(relativePath: relativePath, variable: environmentVariable, environment: environment, executable: executable)
    }

    /// The default SaShiMi audio model (`$SSM_AUDIO_MODEL`, else the shipped file).
    public static func locateAudio(environment: [String: String] = ProcessInfo.processInfo.environment,
                                   executable: URL = executableURL) throws -> URL {
        do {
            return try locate(relativePath: audioRelativePath, variable: audioEnvironmentVariable, environment: environment, executable: executable)
        } catch LocateError.notFound(let dir) { throw LocateError.audioNotFound(searchedFrom: dir) }
    }

    /// The default video classifier (`$SSM_VIDEO_MODEL`, else the shipped file).
    public static func locateVideo(environment: [String: String] = ProcessInfo.processInfo.environment,
                                   executable: URL = executableURL) throws -> URL {
        do {
            return try locate(relativePath: videoRelativePath, variable: videoEnvironmentVariable, environment: environment, executable: executable)
        } catch LocateError.notFound(let dir) { throw LocateError.videoNotFound(searchedFrom: dir) }
    }

    /// The default audio classifier (`$SSM_AUDIO_CLASSIFIER`, else the shipped file).
    public static func locateAudioClassifier(environment: [String: String] = ProcessInfo.processInfo.environment,
                                             executable: URL = executableURL) throws -> URL {
        try locate(relativePath: audioClassifierRelativePath, variable: audioClassifierEnvironmentVariable,
                   environment: environment, executable: executable)
    }

    static func locate(relativePath: String, variable environmentVariable: String, environment: [String: String],
                       executable: URL) throws -> URL {
        if let p = environment[environmentVariable], !p.isEmpty {
            guard FileManager.default.fileExists(atPath: p) else { throw LocateError.environmentFileMissing(p, variable: environmentVariable) }
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
