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

    /// A symbolic link's text (readlink(2): never followed, so /proc's links name what they stand
    /// for, `socket:[4862765]`, without needing access to it), or nil.
    public static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink(path, &buffer, 4096)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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

/// A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it
/// names one process even after the pid is reused.
public enum ProcessStartTime {
    public static func of(_ pid: Int32) -> UInt64? {
        guard let stat = try? Files.readText("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command (which may hold spaces and parentheses) start at field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
