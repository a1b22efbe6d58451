import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A self-pipe that wakes a thread blocked in poll(2): a watcher waits for its fds with no timeout
/// (an idle agent must not wake on a period) and is stopped, or asked to look again, through this.
/// A signal sent while nobody waits is kept (the pipe stays readable) and ends the next wait.
/// (A pipe rather than an eventfd: Glibc's Swift module does not import eventfd or pipe2.)
public final class Wakeup: Sendable {
    /// The read end, polled by waiters; both ends are non-blocking and close-on-exec.
    public let fileDescriptor: Int32
    private let writeEnd: Int32

    public init() throws(SondeError) {
        var ends: [Int32] = [-1, -1]
        try systemCall("pipe") { pipe(&ends) }
        for fd in ends {
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        fileDescriptor = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(fileDescriptor)
        close(writeEnd)
    }

    /// Makes the read end readable (wakes the waiter, or the next one). Safe from any thread.
    public func signal() {
        var one: UInt8 = 1
        // Only EAGAIN can fail (a pipe full of earlier signals): it is readable then anyway.
        _ = try? systemCall("write to a wakeup pipe") { write(writeEnd, &one, 1) }
    }

    /// Empties the pipe; true when it had been signalled.
    @discardableResult
    public func reset() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        var signalled = false
        while buffer.withUnsafeMutableBytes({ read(fileDescriptor, $0.baseAddress, $0.count) }) > 0 { signalled = true }
        return signalled
    }

    /// Blocks the calling thread until one of `fds` is readable, the wakeup is signalled, or
    /// `timeout` (nil: none) passes. Returns the readable fds among `fds`, and whether the wakeup
    /// fired (it is reset). Errors other than EINTR (retried with the time left) count as a wakeup.
    public func wait(for fds: [Int32], timeout: Duration?) -> (ready: [Int32], woken: Bool) {
        var polled = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        polled.append(pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0))
        let deadline = timeout.map { ContinuousClock.now + $0 }
        // Each try waits for the time left (rounded up: a wait that ends a little early would only
        // spin once more).
        let count = retryingInterrupted {
            poll(&polled, nfds_t(polled.count), deadline.map { deadline in
                let left = deadline - ContinuousClock.now
                return left <= .zero ? 0 : Int32(min((left / .milliseconds(1)).rounded(.up), Double(Int32.max)))
            } ?? -1)
        }
        if count < 0 {
            reset()
            return ([], true)
        }
        let ready = polled.dropLast().filter { $0.revents != 0 }.map(\.fd)
        let woken = polled.last!.revents != 0 && reset()
        return (ready, woken)
    }

    /// `wait(for:timeout:)` off the cooperative pool (whose threads must never block), on a thread
    /// of its own: these waits last until something happens, and a dispatch worker blocked that
    /// long would be one fewer for everything else. Cancelling the task signals the wakeup, so
    /// the wait ends at once.
    public func wait(for fds: [Int32] = [], timeout: Duration?) async -> (ready: [Int32], woken: Bool) {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<([Int32], Bool), Never>) in
                let thread = Thread {
                    continuation.resume(returning: self.wait(for: fds, timeout: timeout))
                }
                thread.name = "sonde-wait"
                thread.start()
            }
        } onCancel: {
            signal()
        }
    }
}
