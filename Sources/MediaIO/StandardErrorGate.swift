import Foundation

/// Some C decoders print to the process's standard error (libmpg123 inside libsndfile: "Note:
/// Illegal Audio-MPEG-Header …"). Decoding runs inside ``silenced(_:)``, which points file
/// descriptor 2 at /dev/null for as long as any decode is running; the process's own messages go
/// through ``write(_:)``, which writes to the real standard error either way, so none is lost.
public enum StandardErrorGate {
    static let lock = NSLock()
    nonisolated(unsafe) static var depth = 0
    nonisolated(unsafe) static var saved: Int32 = -1

    /// Runs `body` with C libraries' standard-error output discarded.
    public static func silenced<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        if depth == 0 {
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            saved = dup(2)
            if null >= 0 && saved >= 0 { dup2(null, 2) }
            if null >= 0 { close(null) }
        }
        depth += 1
        lock.unlock()
        defer {
            lock.lock()
            depth -= 1
            if depth == 0, saved >= 0 { dup2(saved, 2); close(saved); saved = -1 }
            lock.unlock()
        }
        return try body()
    }

    /// Writes `data` to the real standard error (also while decoders are silenced).
    public static func write(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        let fd = depth > 0 && saved >= 0 ? saved : 2
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
