import Foundation

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
        let fm = FileManager.default
        var seenDirs = Set<String>(), seenFiles = Set<String>()
        var out: [String] = [], hidden = 0
        var stack = [root]
        while let dir = stack.popLast() {
            guard seenDirs.insert(URL(fileURLWithPath: dir).resolvingSymlinksInPath().path).inserted else { continue }
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() {
                if name.hasPrefix(".") { hidden += 1; continue }
                let path = dir + "/" + name
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
                if isDir.boolValue {
                    if recursive { stack.append(path) }
                } else if accept(name), seenFiles.insert(URL(fileURLWithPath: path).resolvingSymlinksInPath().path).inserted {
                    out.append(path)
                }
            }
        }
        return Listing(files: out.sorted(), hidden: hidden)
    }
}
