#if canImport(Glibc)
import Glibc
#endif

/// Files that hold what containers did (crash dumps, reports, dumps): other containers' syscall
/// arguments and captured buffers, which only root may read, as only root may use the daemon's
/// socket. They are made owner-only (0600) in owner-only directories (0700).
extension Files {
    /// Makes `path` a directory only its owner can enter (0700), creating missing parents with 0755.
    /// An existing directory of ours is narrowed to 0700; a shared one (sticky, such as /tmp) is
    /// refused rather than narrowed, since others rely on it.
    public static func makePrivateDirectory(_ path: String) throws(SondeError) {
        var parent = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true).dropLast() {
            parent += "/" + component
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw SondeError.system("cannot create \(parent)", Errno.current) }
        }
        if mkdir(path, 0o700) == 0 { return }
        let error = Errno.current
        guard error.rawValue == EEXIST else { throw SondeError.system("cannot create \(path)", error) }
        var st = stat()
        try systemCall("stat \(path)") { stat(path, &st) }
        guard st.st_mode & 0o170000 == 0o040000 else { throw SondeError(.invalidArgument, "\(path) is not a directory") }
        guard st.st_mode & 0o077 != 0 else { return }
        guard st.st_mode & 0o1000 == 0, st.st_uid == getuid() else {
            throw SondeError(.invalidArgument, "\(path) is shared with other users (mode \(String(st.st_mode & 0o7777, radix: 8)))",
                             hint: "give sonde a directory of its own for these files")
        }
        try systemCall("chmod \(path) to 0700") { chmod(path, 0o700) }
    }

    /// Opens `path` for writing, truncated, readable by its owner only (0600, also when the file
    /// existed with a wider mode). The caller closes the descriptor.
    public static func openPrivate(_ path: String) throws(SondeError) -> Int32 {
        let fd = try systemCall("open \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        do {
            try systemCall("chmod \(path) to 0600") { fchmod(fd, 0o600) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Writes `bytes` to `path` atomically (aside, then renamed over it), mode 0600: a crash never
    /// leaves half a file, and the file is never readable by others, not even for a moment.
    public static func writePrivate(_ path: String, _ bytes: [UInt8]) throws(SondeError) {
        let aside = path + ".tmp"
        let fd = try openPrivate(aside)
        // withUnsafeBytes rethrows untyped errors: carry the typed one out by hand.
        let failure: SondeError? = bytes.withUnsafeBytes { raw in
            do throws(SondeError) { try writeAll(fd, raw); return nil } catch { return error }
        }
        if let failure {
            close(fd)
            unlink(aside)
            throw failure
        }
        close(fd)
        do {
            try systemCall("rename \(aside)") { rename(aside, path) }
        } catch {
            unlink(aside)
            throw error
        }
    }
}

extension Errno {
    /// Out of descriptors, memory, buffers or space: a shortage that passes, which a long-running
    /// process survives by refusing or retrying rather than exiting.
    public var isResourceShortage: Bool {
        [EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN, ENOSPC].contains(rawValue)
    }
}

/// RLIMIT_NOFILE.
public enum OpenFileLimit {
    /// The soft limit raised to the hard one (which needs no privilege; the hard limit itself is
    /// never raised). Returns the soft limit now in force.
    @discardableResult
    public static func raiseToHardLimit() throws(SondeError) -> UInt64 {
        var limit = rlimit()
        try systemCall("getrlimit(RLIMIT_NOFILE)") { getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) }
        guard limit.rlim_cur < limit.rlim_max else { return UInt64(limit.rlim_cur) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        try systemCall("setrlimit(RLIMIT_NOFILE)") { setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) }
        return UInt64(raised.rlim_cur)
    }

    /// The soft limit in force.
    public static var current: UInt64 {
        var limit = rlimit()
        return getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : 1024
    }
}
