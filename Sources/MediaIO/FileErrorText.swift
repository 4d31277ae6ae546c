import Foundation

/// Ordinary file-system failures in plain words ("permission denied", "no space left on
/// device"), rather than Foundation's "The operation could not be completed. …" wording.
public enum FileErrorText {
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code))).lowercased()
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))).lowercased() }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
            case NSFileWriteOutOfSpaceError: return "no space left on device"
            case NSFileWriteVolumeReadOnlyError: return "read-only file system"
            case NSFileWriteFileExistsError: return "a file of that name exists"
            case NSFileReadCorruptFileError: return "unreadable data"
            default: break
            }
        }
        return ns.localizedDescription
    }
}
