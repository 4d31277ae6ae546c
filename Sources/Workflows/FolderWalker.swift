import Foundation
import MediaIO

/// Walking folders for data sets: every real file once (symbolic links resolved, so a link loop
/// or two links to one file cannot repeat it), hidden entries (names starting with `.`) skipped
/// and counted, results sorted. One walker for the image and audio data sets.
public enum FolderWalker {
    public struct Listing: Equatable {
        public var files: [String]
        /// Hidden files and folders that were skipped.
        public var hidden: Int
    }

    /// Files under `root` accepted by `accept` (given the file name); folders are entered when
    /// `recursive`.
    public static func list(_ root: String, recursive: Bool, accept: (String) -> Bool) -> Listing {
        // Folders and files are told apart by device and inode (links followed), so a link loop
        // or two links to one file cannot repeat it; names are read as bytes (``SystemPath``), so
        // names that are not UTF-8 are listed too.
        var seenDirs = Set<String>(), seenFiles = Set<String>()
        var out: [String] = [], hidden = 0
        var stack = [root]
        while let dir = stack.popLast() {
            guard let st = SystemPath.status(dir), st.isDirectory, seenDirs.insert(st.identity).inserted else { continue }
            guard let names = SystemPath.contents(dir) else { continue }
            let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
            for name in names.sorted() {
                if name.hasPrefix(".") { hidden += 1; continue }
                let path = base + "/" + name
                guard let entry = SystemPath.status(path) else { continue }
                if entry.isDirectory {
                    if recursive { stack.append(path) }
                } else if accept(name), seenFiles.insert(entry.identity).inserted {
                    out.append(path)
                }
            }
        }
        return Listing(files: out.sorted(), hidden: hidden)
    }
}
