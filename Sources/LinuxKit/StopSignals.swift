import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into a clean stop of a long-running command (a gadget detaches and
/// reports its losses; cluster mode says which nodes are missing). The signals are ignored
/// process-wide (SIG_IGN) and watched by dispatch sources, so whichever thread the kernel picks is
/// not interrupted. (The seccomp agent uses sigwait instead: see SupervisorSignals.)
/// `sources` is written once in init and only read after: safe to share.
public final class StopSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    public init(onStop: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: onStop)
            source.resume()
            return source
        }
    }

    public func cancel() {
        for source in sources { source.cancel() }
    }
}
