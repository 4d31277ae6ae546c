import Foundation

/// The one error MediaIO throws: which file, and why.
///
/// `description` reads like `"samples/x.png: corrupt: IDAT: invalid distance too far back"`.
public struct MediaError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Why a file could not be read or written.
    public enum Reason: Equatable, Sendable {
        /// No file at that path.
        case missing
        /// A zero-byte file.
        case empty
        /// Not a format MediaIO reads (or no decodable stream in it).
        case unsupported(String)
        /// Malformed data.
        case corrupt(String)
        /// The data ends before the format says it should.
        case truncated(String)
        /// Over one of the ``MediaLimits``.
        case tooLarge(String)
        /// The operating system refused a read or write.
        case io(String)
        /// The caller asked for something impossible (e.g. a zero output size).
        case invalidArgument(String)

        /// Short machine-readable name: `missing`, `empty`, `unsupported`, `corrupt`, `truncated`,
        /// `too_large`, `io`, `invalid_argument`.
        public var name: String {
            switch self {
            case .missing: return "missing"
            case .empty: return "empty"
            case .unsupported: return "unsupported"
            case .corrupt: return "corrupt"
            case .truncated: return "truncated"
            case .tooLarge: return "too_large"
            case .io: return "io"
            case .invalidArgument: return "invalid_argument"
            }
        }

        /// Human-readable detail.
        public var detail: String {
            switch self {
            case .missing: return "no such file"
            case .empty: return "file is empty"
            case .unsupported(let s), .corrupt(let s), .truncated(let s), .tooLarge(let s), .io(let s),
                 .invalidArgument(let s):
                return s
            }
        }
    }

    /// The path as given by the caller.
    public var file: String
    public var reason: Reason

    public init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    /// `"<file>: <reason name>: <detail>"`.
    public var description: String {
        switch reason {
        case .missing, .empty: return "\(file): \(reason.name): \(reason.detail)"
        default: return "\(file): \(reason.name.replacingOccurrences(of: "_", with: " ")): \(reason.detail)"
        }
    }
}

extension MediaError: LocalizedError {
    public var errorDescription: String? { description }
}
