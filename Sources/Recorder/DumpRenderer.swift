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
        text(dump, options: DumpOptions())
    }

    static func gapText(cpu: Int, overwritten: UInt64, dropped: UInt64, corrupt: UInt64) -> String {
        var parts: [String] = []
        if overwritten > 0 { parts.append("\(overwritten) earlier records overwritten") }
        if dropped > 0 { parts.append("\(dropped) records not kept (too large, or the ring was busy)") }
        if corrupt > 0 { parts.append("\(corrupt) unreadable records skipped") }
        return "cpu \(cpu): " + parts.joined(separator: ", ")
    }

    /// strace's lines for what is not a call: `--- SIGSEGV {...} ---`, `+++ killed by SIGSEGV +++`,
    /// and strace -k's frame lines under a crash's signal (one entry, several lines).
    static func line(_ event: ProcessEvent) -> String {
        switch event.kind {
        case .signal(let signal):
            return "--- " + SymbolText.signal(Int64(signal.number)) + " " + signal.shownInfo.text + " ---"
                + (signal.explicitlyIgnored ? " (ignored)" : "")
        case .exit(let exit):
            return "+++ " + exit.text + " +++"
        case .stack(let stack):
            return stack.lines.isEmpty ? " > (no frames)" : stack.lines.joined(separator: "\n")
        }
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
            case .event(let event):
                var out = "{\"time\":\"" + TimeText.rfc3339(clock.wallNanoseconds(boot: event.bootNanoseconds)) + "\""
                out += ",\"container\":" + containerJSON + ",\"pid\":\(event.pid),\"tid\":\(event.tid),"
                out += Self.json(event.kind)
                out += ",\"text\":" + JSONRenderer.quote(Self.line(event)) + "}"
                return out
            case .gap(let time, let cpu, let overwritten, let dropped, let corrupt):
                return "{\"time\":\"" + TimeText.rfc3339(clock.wallNanoseconds(boot: time)) + "\",\"container\":" + containerJSON
                    + ",\"gap\":{\"cpu\":\(cpu),\"overwritten\":\(overwritten),\"dropped\":\(dropped),\"unreadable\":\(corrupt)}}"
            }
        }
    }

    /// The event's own member: "signal", "exit" or "stack".
    static func json(_ kind: ProcessEvent.Kind) -> String {
        switch kind {
        case .signal(let signal):
            let info = signal.shownInfo
            var out = "\"signal\":{\"name\":" + JSONRenderer.quote(SymbolText.signal(Int64(signal.number)))
            out += ",\"number\":\(signal.number),\"code\":\(info.code)"
            switch signal.event {
            case .generated(let result):
                out += ",\"event\":\"sent\",\"result\":" + JSONRenderer.quote("\(result)")
            case .delivered(let disposition):
                out += ",\"event\":\"delivered\",\"action\":"
                switch disposition {
                case .defaultAction: out += "\"default\""
                case .ignored: out += "\"ignored\""
                case .handler(let address): out += "\"handler\",\"handler\":\"0x" + String(address, radix: 16) + "\""
                }
            }
            if info.code <= 0 || signal.number == 17 { out += ",\"sender_pid\":\(info.senderPID),\"sender_uid\":\(info.senderUID)" }
            if [4, 5, 7, 8, 11].contains(signal.number) { out += ",\"address\":\"0x" + String(info.address, radix: 16) + "\"" }
            return out + ",\"siginfo\":" + JSONRenderer.quote(info.text) + "}"
        case .exit(let exit):
            var out = "\"exit\":{\"status\":\(exit.status),\"last_thread\":\(exit.lastThread)"
            if let signal = exit.signal {
                out += ",\"killed_by\":" + JSONRenderer.quote(SymbolText.signal(Int64(signal))) + ",\"core_dumped\":\(exit.coreDumped)"
            } else {
                out += ",\"exit_code\":\(exit.exitStatus)"
            }
            return out + "}"
        case .stack(let stack):
            let frames = stack.frames.map { frame -> String in
                var out = "{\"address\":\"0x" + String(frame.address, radix: 16) + "\""
                if let buildID = frame.buildIDText { out += ",\"build_id\":\"" + buildID + "\"" }
                if let offset = frame.fileOffset { out += ",\"file_offset\":\(offset)" }
                if let module = frame.module { out += ",\"module\":" + JSONRenderer.quote(module) }
                if let at = frame.moduleAddress { out += ",\"module_address\":\"0x" + String(at, radix: 16) + "\"" }
                if let symbol = frame.symbol { out += ",\"symbol\":" + JSONRenderer.quote(symbol) + ",\"symbol_offset\":\(frame.symbolOffset)" }
                return out + "}"
            }
            var out = "\"stack\":{\"signal\":" + JSONRenderer.quote(SymbolText.signal(Int64(stack.signal)))
            if let executable = stack.executable { out += ",\"executable\":" + JSONRenderer.quote(executable) }
            return out + ",\"frames\":[" + frames.joined(separator: ",") + "]}"
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

