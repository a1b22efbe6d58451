import DaemonAPI
import LinuxKit
import Recorder
import Syscalls

extension DumpOptions {
    /// The reading options as the daemon API carries them, checked: an expression strace would
    /// refuse is refused with strace's words, whoever sent it.
    public init(reading: Sonde_V1_DumpReading, last: UInt32) throws(SondeError) {
        self.init()
        do {
            if !reading.trace.isEmpty { trace = try TraceQualifier(reading.trace) }
            if !reading.status.isEmpty { status = try StatusQualifier(reading.status) }
        } catch {
            throw SondeError(.invalidArgument, "\(error)")
        }
        paths = reading.paths
        decodeDescriptors = reading.decodeFds
        durations = reading.durations
        switch reading.time {
        case .seconds: time = .seconds
        case .epoch: time = .epoch
        case .relative: time = .relative
        default: time = .microseconds
        }
        summary = reading.summary
        self.last = last > 0 ? Int(last) : nil
    }
}
