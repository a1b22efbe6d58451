import ArgumentParser
import DaemonAPI

/// strace's options for reading a recording, as `sonde record dump` and `kubectl sonde record dump`
/// take them: which calls (-e trace=, -e status=, -Z, -z, -P) and how they read (-y, -T, -t, -tt,
/// -ttt, -r, and --summary for strace's -c, whose letter names the container here). What they
/// give travels as the daemon API's DumpReading, read by the recorder's DumpOptions.
public struct StraceReadingOptions: ParsableArguments {
    @Option(name: .customShort("e"), help: ArgumentHelp(
        "strace's qualifier: trace=SET (names, %file, %network and the other classes, /regex, ?name, !SET) or status=SET (successful, failed, unfinished). Repeatable.",
        valueName: "expr"))
    public var expressions: [String] = []

    @Option(name: .customLong("trace"), help: ArgumentHelp("As -e trace=SET.", valueName: "set"))
    public var trace: String?

    @Flag(name: [.customShort("Z"), .customLong("failed-only")], help: "Only the calls that failed (-e status=failed).")
    public var failedOnly = false

    @Flag(name: [.customShort("z"), .customLong("successful-only")], help: "Only the calls that succeeded (-e status=successful).")
    public var successfulOnly = false

    @Option(name: [.customShort("P"), .customLong("trace-path")], help: ArgumentHelp(
        "Only the calls that name this path, directly or through a descriptor the recording saw opened on it. Repeatable.", valueName: "path"))
    public var paths: [String] = []

    @Flag(name: [.customShort("y"), .customLong("decode-fds")], help: "Descriptors followed by their path (`3</etc/hosts>`), where the recording saw them opened.")
    public var decodeDescriptors = false

    @Flag(name: [.customShort("T"), .customLong("syscall-times")], help: "Each call's duration (`<0.000012>`), where the recording has its exit time.")
    public var durations = false

    @Flag(name: .customShort("t"), help: "-t: the time of day in seconds; -tt (the default): with microseconds; -ttt: seconds since the epoch.")
    public var absoluteTime: Int

    @Flag(name: [.customShort("r"), .customLong("relative-timestamps")], help: "Seconds since the previous line instead of the time of day.")
    public var relativeTime = false

    @Flag(name: .customLong("summary"), help: "Only strace -c's table: calls, errors and time per syscall.")
    public var summary = false

    public init() {}

    public func validate() throws {
        if failedOnly && successfulOnly { throw ValidationError("-Z and -z exclude each other") }
        if absoluteTime > 3 { throw ValidationError("-t is given at most three times (-ttt)") }
        if absoluteTime > 0 && relativeTime { throw ValidationError("-t and -r exclude each other") }
        _ = try qualifiers()
    }

    /// -e's expressions by qualifier; a bare set is a trace set, as in strace.
    func qualifiers() throws -> (trace: [String], status: [String]) {
        var trace = self.trace.map { [$0] } ?? [], status: [String] = []
        for expression in expressions {
            guard let equals = expression.firstIndex(of: "=") else {
                trace.append(expression)
                continue
            }
            let value = String(expression[expression.index(after: equals)...])
            switch expression[..<equals] {
            case "trace", "t": trace.append(value)
            case "status": status.append(value)
            case let other: throw ValidationError("-e \(other)= is not a qualifier for a recording (trace= and status= are)")
            }
        }
        if trace.count > 1 || status.count > 1 { throw ValidationError("give one trace= set and one status= set (as one comma-separated list)") }
        return (trace, status)
    }

    /// The options as the daemon API carries them.
    public var reading: Sonde_V1_DumpReading {
        let (trace, status) = (try? qualifiers()) ?? ([], [])
        return .with {
            $0.trace = trace.first ?? ""
            $0.status = status.first ?? (failedOnly ? "failed" : successfulOnly ? "successful" : "")
            $0.paths = paths
            $0.decodeFds = decodeDescriptors
            $0.durations = durations
            $0.time = relativeTime ? .relative : absoluteTime == 1 ? .seconds : absoluteTime == 3 ? .epoch : .microseconds
            $0.summary = summary
        }
    }
}
