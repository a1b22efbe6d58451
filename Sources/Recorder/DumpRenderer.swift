import Containers
import Events
import LinuxKit
import Syscalls

/// Renders a dump as strace does (`-f -tt`: thread, time of day, the call), or as JSON lines.
/// Syscall knowledge comes in from the Syscalls module: how to print a call, and its name.
public struct DumpRenderer: Sendable {
    public let format: @Sendable (SyscallRecord) -> String
    /// A call whose entry was lost: only its result is known.
    public let formatResumed: @Sendable (SyscallRecord) -> String
    public let name: @Sendable (Int) -> String
    let clock = BootClock()

    public init(format: @escaping @Sendable (SyscallRecord) -> String,
                formatResumed: @escaping @Sendable (SyscallRecord) -> String,
                name: @escaping @Sendable (Int) -> String) {
        self.format = format
        self.formatResumed = formatResumed
        self.name = name
    }

    /// strace's formatting of the x86_64 table, as every sonde command prints dumps.
    public static let strace = DumpRenderer(format: { SyscallFormatter.format($0) },
                                            formatResumed: { SyscallFormatter().formatResumed($0) },
                                            name: { SyscallTable.x86_64[$0]?.name ?? "syscall_\($0)" })

    /// One line per call, oldest first; gaps say where records are missing and how many.
    public func text(_ dump: RecorderDump) -> [String] {
        dump.entries.map { entry in
            switch entry {
            case .call(let call):
                let time = timeOfDay(call.bootNanoseconds)
                return String(call.tid).leftPadded(to: 7) + " " + time + " " + line(call)
            case .gap(let time, let cpu, let overwritten, let dropped, let corrupt):
                return "------- " + timeOfDay(time) + " " + Self.gapText(cpu: cpu, overwritten: overwritten, dropped: dropped, corrupt: corrupt) + " -------"
            }
        }
    }

    static func gapText(cpu: Int, overwritten: UInt64, dropped: UInt64, corrupt: UInt64) -> String {
        var parts: [String] = []
        if overwritten > 0 { parts.append("\(overwritten) earlier records overwritten") }
        if dropped > 0 { parts.append("\(dropped) records too large to keep") }
        if corrupt > 0 { parts.append("\(corrupt) unreadable records skipped") }
        return "cpu \(cpu): " + parts.joined(separator: ", ")
    }

    func line(_ call: RecordedCall) -> String {
        call.entryLost ? formatResumed(call.record) : format(call.record)
    }

    /// One JSON object per call or gap.
    public func json(_ dump: RecorderDump, container: Container) -> [String] {
        let containerJSON = JSONRenderer.quote(container.name)
        return dump.entries.map { entry in
            switch entry {
            case .call(let call):
                var out = "{\"time\":\"" + TimeText.rfc3339(clock.wallNanoseconds(boot: call.bootNanoseconds)) + "\""
                out += ",\"container\":" + containerJSON + ",\"pid\":\(call.pid),\"tid\":\(call.tid)"
                out += ",\"syscall\":" + JSONRenderer.quote(name(call.record.number)) + ",\"nr\":\(call.record.number)"
                if !call.entryLost {
                    out += ",\"args\":[" + call.record.arguments.map { String($0) }.joined(separator: ",") + "]"
                }
                switch call.record.completion {
                case .returned(let value):
                    out += ",\"ret\":\(value)"
                    if value < 0 && value >= -4095 { out += ",\"error\":" + JSONRenderer.quote(Errno(rawValue: Int32(-value)).name) }
                    if let exit = call.exitNanoseconds { out += ",\"duration_ns\":\(exit &- call.bootNanoseconds)" }
                case .unfinished: out += ",\"unfinished\":true"
                case .noReturn: out += ",\"no_return\":true"
                }
                if call.entryLost { out += ",\"entry_lost\":true" }
                out += ",\"text\":" + JSONRenderer.quote(line(call)) + "}"
                return out
            case .gap(let time, let cpu, let overwritten, let dropped, let corrupt):
                return "{\"time\":\"" + TimeText.rfc3339(clock.wallNanoseconds(boot: time)) + "\",\"container\":" + containerJSON
                    + ",\"gap\":{\"cpu\":\(cpu),\"overwritten\":\(overwritten),\"dropped\":\(dropped),\"unreadable\":\(corrupt)}}"
            }
        }
    }

    /// "14:03:07.123456", local time, as strace -tt.
    func timeOfDay(_ boot: UInt64) -> String {
        let wall = clock.wallNanoseconds(boot: boot)
        let clockText = TimeText.clock(wall) // HH:MM:SS.mmm
        let micros = String(wall % 1_000_000_000 / 1000).leftPadded(to: 6, with: "0")
        return String(clockText.prefix(8)) + "." + micros
    }
}

