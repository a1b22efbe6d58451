#if canImport(Glibc)
import Glibc
#endif

/// Runs a C call that returns -1 and sets errno on failure, retrying while it fails with EINTR.
/// The one place sonde turns errno into an error; `what` names the call for the message.
@discardableResult
public func systemCall<T: BinaryInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws(SondeError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno.current
        if error == .interrupted { continue }
        throw SondeError.system(what(), error)
    }
}

/// For calls that return a negative errno instead of setting errno (libbpf, raw syscalls).
@discardableResult
public func negativeErrnoCall<T: SignedInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws(SondeError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno(rawValue: Int32(truncatingIfNeeded: -result))
        if error == .interrupted { continue }
        throw SondeError.system(what(), error)
    }
}

/// Writes all of `text` (UTF-8) to `fd`, as `writeAll(_:_:)` with bytes.
public func writeAll(_ fd: Int32, _ text: String) throws(SondeError) {
    var text = text
    // String.withUTF8 rethrows untyped errors: carry the typed one out by hand.
    let failure: SondeError? = text.withUTF8 { bytes in
        do throws(SondeError) { try writeAll(fd, UnsafeRawBufferPointer(bytes)); return nil } catch { return error }
    }
    if let failure { throw failure }
}

/// Writes all of `bytes` to `fd`, resuming after short writes and EINTR (write(2)).
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SondeError) {
    var offset = 0
    while offset < bytes.count {
        let written = try systemCall("write to fd \(fd)") {
            write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        }
        offset += written
    }
}

/// Runs a C call again while it fails with EINTR, and returns its result as it is: for callers that
/// handle the other outcomes themselves (EAGAIN, end of file, a short count). A closure that
/// computes a timeout computes it again for each try.
@discardableResult
public func retryingInterrupted<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// Waits for the child `pid` to end (waitpid(2) through interruptions); its wait status, or nil
/// when it is no child of ours (ECHILD) or was already waited for.
@discardableResult
public func waitForChild(_ pid: pid_t) -> Int32? {
    var status: Int32 = 0
    return retryingInterrupted { waitpid(pid, &status, 0) } == pid ? status : nil
}
