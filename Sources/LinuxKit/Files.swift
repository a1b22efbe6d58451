import Foundation

/// Small file helpers whose failures become SondeErrors naming the path.
public enum Files {
    /// The whole file as text; kernel pseudo-files (/proc, /sys) report size 0, so read to EOF.
    public static func readText(_ path: String) throws(SondeError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SondeError.system("cannot open \(path)", Errno.current)
        }
        defer { try? handle.close() }
        do {
            let data = try handle.readToEnd() ?? Data()
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw SondeError.system("cannot read \(path)", Errno.current)
        }
    }

    public static func readData(_ path: String) throws(SondeError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SondeError.system("cannot open \(path)", Errno.current)
        }
        defer { try? handle.close() }
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw SondeError.system("cannot read \(path)", Errno.current)
        }
    }

    /// The inode number of a path (follows symlinks): cgroup v2 ids and namespace ids are inodes.
    public static func inode(_ path: String) throws(SondeError) -> UInt64 {
        var st = stat()
        try systemCall("stat \(path)") { stat(path, &st) }
        return UInt64(st.st_ino)
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}

extension FileManager {
    /// Creates a directory and its parents, throwing sonde's error.
    public func createDirectory(atPathOrThrow path: String) throws(SondeError) {
        do {
            try createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SondeError(.system, "cannot create \(path): \(error)")
        }
    }
}
