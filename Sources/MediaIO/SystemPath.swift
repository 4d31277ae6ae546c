import Foundation

/// File names are bytes; Swift strings are Unicode. A name that is not valid UTF-8 is carried in a
/// `String` with each byte outside a valid UTF-8 sequence as the private-use scalar
/// `U+10FF00 + byte`, and turned back into those exact bytes whenever a file is opened or listed —
/// so such files are read like any other, and reported with the bytes escaped as `\xHH`.
public enum SystemPath {
    static let base: UInt32 = 0x10FF00

    /// A file name's bytes as a string (valid UTF-8 unchanged).
    public static func string<C: Collection>(bytes: C) -> String where C.Element == UInt8 {
        let b = Array(bytes)
        if let s = String(validating: b, as: UTF8.self) { return s }
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            let lead = b[i]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            if length > 0, i + length <= b.count, let s = String(validating: b[i..<(i + length)], as: UTF8.self) {
                scalars.append(contentsOf: s.unicodeScalars)
                i += length
            } else {
                scalars.append(Unicode.Scalar(base + UInt32(lead))!)
                i += 1
            }
        }
        return String(scalars)
    }

    /// The bytes `path` names on disk.
    public static func bytes(_ path: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if scalar.value >= base && scalar.value <= base + 0xFF { out.append(UInt8(scalar.value - base)) }
            else { out.append(contentsOf: String(scalar).utf8) }
        }
        return out
    }

    /// Calls `body` with `path` as the NUL-terminated bytes the system uses.
    public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        let b = bytes(path).map { CChar(bitPattern: $0) } + [0]
        return try b.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Whether `path` holds bytes that are not UTF-8.
    public static func hasRawBytes(_ path: String) -> Bool {
        path.unicodeScalars.contains { $0.value >= base && $0.value <= base + 0xFF }
    }

    /// `path` for messages and JSON: raw bytes written as `\xHH`.
    public static func display(_ path: String) -> String {
        guard hasRawBytes(path) else { return path }
        var out = ""
        for scalar in path.unicodeScalars {
            if scalar.value >= base && scalar.value <= base + 0xFF { out += String(format: "\\x%02x", scalar.value - base) }
            else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// The inverse of ``display(_:)``: `\xHH` with HH ≥ 80 back to the raw byte (bytes below 80
    /// are valid UTF-8 and never escaped).
    public static func fromDisplay(_ text: String) -> String {
        guard text.contains("\\x") else { return text }
        var scalars = String.UnicodeScalarView()
        let all = Array(text.unicodeScalars)
        var i = 0
        while i < all.count {
            if all[i] == "\\", i + 3 < all.count, all[i + 1] == "x",
               let v = UInt32(String(String.UnicodeScalarView(all[(i + 2)...(i + 3)])), radix: 16), v >= 0x80 {
                scalars.append(Unicode.Scalar(base + v)!)
                i += 4
            } else {
                scalars.append(all[i]); i += 1
            }
        }
        return String(scalars)
    }

    /// `stat(2)` of `path` following links: (is a directory, size, inode identity, modification
    /// time in seconds and nanoseconds), or nil when it does not exist.
    public static func status(_ path: String) -> (isDirectory: Bool, size: Int, identity: String, modified: (seconds: Int, nanoseconds: Int))? {
        var st = stat()
        guard withCString(path, { stat($0, &st) }) == 0 else { return nil }
        return ((st.st_mode & S_IFMT) == S_IFDIR, Int(st.st_size), "\(st.st_dev):\(st.st_ino)",
                (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)))
    }

    /// The names in folder `path` (not `.` and `..`), or nil when it cannot be read.
    public static func contents(_ path: String) -> [String]? {
        guard let dir = withCString(path, { opendir($0) }) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let b = raw.bindMemory(to: UInt8.self)
                let n = b.firstIndex(of: 0) ?? b.count
                return string(bytes: b[0..<n])
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
