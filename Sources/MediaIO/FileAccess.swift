import Foundation

/// File-system helpers shared by the readers and writers.
enum FileAccess {
    /// Throws `.missing` or `.empty` (or `.io` for a directory) before any decoder sees the path.
    /// Names that are not UTF-8 are opened by their bytes (``SystemPath``).
    static func checkReadable(_ path: String) throws -> Int {
        guard let st = SystemPath.status(path) else { throw MediaError(file: path, reason: .missing) }
        if st.isDirectory { throw MediaError(file: path, reason: .io("is a directory")) }
        if st.size == 0 { throw MediaError(file: path, reason: .empty) }
        return st.size
    }

    /// A read-only handle on `path` by its bytes.
    static func open(_ path: String) throws -> FileHandle {
        let fd = SystemPath.withCString(path) { Foundation.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw MediaError(file: path, reason: .io("cannot open for reading: \(String(cString: strerror(errno)))"))
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// The whole file, after the checks above and a size limit.
    static func read(_ path: String, maxBytes: Int) throws -> Data {
        let size = try checkReadable(path)
        if size > maxBytes {
            throw MediaError(file: path, reason: .tooLarge("\(size) bytes exceeds the limit of \(maxBytes)"))
        }
        let handle = try open(path)
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw MediaError(file: path, reason: .io("cannot read: \(FileErrorText.describe(error))"))
        }
    }

    /// Up to `count` leading bytes.
    static func head(_ path: String, count: Int) throws -> [UInt8] {
        let handle = try open(path)
        let data: Data? = (try? handle.read(upToCount: count)) ?? nil
        return [UInt8](data ?? Data())
    }

    /// Up to `count` trailing bytes.
    static func tail(_ path: String, count: Int) throws -> [UInt8] {
        let handle = try open(path)
        guard let end = try? handle.seekToEnd() else { return [] }
        try? handle.seek(toOffset: end > UInt64(count) ? end - UInt64(count) : 0)
        let data: Data? = (try? handle.readToEnd()) ?? nil
        return [UInt8](data ?? Data())
    }

    /// Writes `data` to `path` atomically: a temporary file in the same folder, then a rename,
    /// so a failure never leaves a partial output file.
    static func writeAtomically(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw MediaError(file: path, reason: .io("cannot write: \(FileErrorText.describe(error))"))
        }
    }

    /// A temporary path next to `path` for writers that need a file name (libsndfile).
    static func temporarySibling(of path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent).\(UInt64.random(in: 0...UInt64.max)).tmp"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Renames `temporary` onto `path`, removing `temporary` on failure.
    static func commit(_ temporary: String, to path: String) throws {
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw MediaError(file: path, reason: .io("cannot write: \(reason)"))
        }
    }
}

/// Maps a C status code from the shim to a ``MediaError``.
func mediaError(file: String, status: Int32, message: [CChar], unsupported: String? = nil) -> MediaError {
    let text = String(cString: message)
    let detail = text.isEmpty ? "unknown error (\(status))" : text
    switch status {
    case 1: return MediaError(file: file, reason: .unsupported(unsupported ?? detail))
    case 2: return MediaError(file: file, reason: .corrupt(detail))
    case 3: return MediaError(file: file, reason: .truncated(detail))
    case 4: return MediaError(file: file, reason: .tooLarge(detail))
    // Sizes are checked against the limits before anything large is allocated, so a decoder or
    // demuxer running out of memory means a damaged size field (e.g. an MP4 box), not a big file.
    case 5: return MediaError(file: file, reason: .corrupt("a size field asks for an impossible allocation (\(detail))"))
    case 6: return MediaError(file: file, reason: .invalidArgument(detail))
    case 7: return MediaError(file: file, reason: .unsupported(detail))
    case 8: return MediaError(file: file, reason: .io(detail))
    default: return MediaError(file: file, reason: .corrupt(detail))
    }
}
