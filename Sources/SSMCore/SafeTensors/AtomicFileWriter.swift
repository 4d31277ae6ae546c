import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Replaces a file's contents all at once: readers see either the old file or the complete new one,
/// never a partial write, and a failure leaves no stray temporary file.
enum AtomicFileWriter {
    /// Writes `data` to a temporary file next to `url`, `fsync`s it, renames it to `url`, then
    /// `fsync`s the folder so the rename itself is durable.
    static func write(_ data: Data, to url: URL) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        func failure(_ what: String, _ code: Int32 = errno) -> SafeTensorsError {
            SafeTensorsError(source: path, reason: .io("\(what): \(String(cString: strerror(code)))"))
        }

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create a temporary file in \(folder)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }

        do {
            try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws in
                var written = 0
                while written < bytes.count {
                    let n = systemWrite(fd, bytes.baseAddress!.advanced(by: written), bytes.count - written)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw failure("write failed")
                    }
                    written += n
                }
            }
            guard fsync(fd) == 0 else { throw failure("fsync failed") }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw failure("close failed") }
        guard rename(temporary, path) == 0 else { throw failure("cannot rename the temporary file into place") }
        renamed = true

        let dirfd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}
