import Foundation
import LinuxKit

/// One syscall of a recording (`sonde record dump -o json`).
public struct ReportCall: Sendable, Equatable {
    public var time: Int64 // Unix ns
    public var container: String
    public var pid: Int64
    public var tid: Int64
    public var syscall: String
    /// nil when the recording has no exit time for it (unfinished, no return, entry lost).
    public var durationNanoseconds: Int64?
    public var ret: Int64?
    public var error: String?
    public var text: String
}

/// One event of a gadget capture (`sonde trace NAME -o json`).
public struct ReportEvent: Sendable, Equatable {
    public var time: Int64
    public var source: String
    public var container: String
    public var pid: Int64
    public var tid: Int64
    public var comm: String
    public var error: String?

    /// The sources of a recording's signals and thread exits (`sonde record dump -o json`).
    public static let recordingSources: Set<String> = ["signal", "exit"]
}

/// Records the recorder could not keep (overwritten, too large, unreadable), at their place.
public struct ReportGap: Sendable, Equatable {
    public var time: Int64
    public var container: String
    public var overwritten: Int64
    public var dropped: Int64
    public var unreadable: Int64
}

/// One row of `sonde trace startup -o json`: a milestone, or a container's summary.
public struct ReportStartupRow: Sendable, Equatable {
    public var time: Int64
    public var container: String
    public var step: String
    public var sinceMicroseconds: Int64
    public var detail: String
    /// Summary rows: interval name ("cgroup_to_entrypoint") -> microseconds.
    public var durations: [String: Int64]
}

/// Everything read from the inputs.
public struct ReportData: Sendable {
    public var calls: [ReportCall] = []
    public var events: [ReportEvent] = []
    public var gaps: [ReportGap] = []
    public var startup: [ReportStartupRow] = []
    /// The files read, as given.
    public var inputs: [String] = []

    public init() {}

    /// Reads JSON lines from `text` (one object per line, blank lines skipped); `name` is for errors.
    /// Recorder calls, gadget events and start-up rows may be mixed.
    public mutating func read(_ text: String, name: String) throws(SondeError) {
        inputs.append(name)
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = (try? JSONValue.parse(Data(trimmed.utf8)))?.object else {
                throw SondeError(.malformedInput, "\(name):\(number): not a JSON object; sonde report reads the JSON lines of `sonde record dump -o json` and `sonde trace ... -o json`")
            }
            try add(object, at: "\(name):\(number)")
        }
    }

    /// Reads a file (or "-" for stdin).
    public mutating func read(file path: String) throws(SondeError) {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw SondeError(.notFound, "cannot read \(path)")
            }
            data = contents
        }
        try read(String(decoding: data, as: UTF8.self), name: path)
    }

    mutating func add(_ o: [String: JSONValue], at place: String) throws(SondeError) {
        guard let timeText = o["time"]?.string, let time = RFC3339.nanoseconds(timeText) else {
            throw SondeError(.malformedInput, "\(place): no valid \"time\" (RFC 3339, UTC)")
        }
        let container = Self.containerName(o["container"])
        if let gap = o["gap"]?.object {
            gaps.append(ReportGap(time: time, container: container, overwritten: Self.int(gap["overwritten"]) ?? 0,
                                  dropped: Self.int(gap["dropped"]) ?? 0, unreadable: Self.int(gap["unreadable"]) ?? 0))
        } else if let source = o["source"]?.string {
            if source == "startup" {
                guard let step = o["step"]?.string else {
                    throw SondeError(.malformedInput, "\(place): a startup row without \"step\"")
                }
                var durations: [String: Int64] = [:]
                for (key, value) in o where key.hasSuffix("_us") && key != "since_us" && key != "delta_us" {
                    if let v = Self.int(value) { durations[String(key.dropLast(3))] = v }
                }
                startup.append(ReportStartupRow(time: time, container: container, step: step,
                                                sinceMicroseconds: Self.int(o["since_us"]) ?? 0,
                                                detail: o["detail"]?.string ?? "", durations: durations))
            } else {
                events.append(ReportEvent(time: time, source: source, container: container, pid: Self.int(o["pid"]) ?? 0,
                                          tid: Self.int(o["tid"]) ?? 0, comm: o["comm"]?.string ?? "",
                                          error: o["error"]?.string))
            }
        } else if let signal = o["signal"]?.object {
            // A signal in a recording: a marker on the thread's timeline (as a gadget event), red
            // for a fault the thread did not handle.
            events.append(ReportEvent(time: time, source: "signal", container: container, pid: Self.int(o["pid"]) ?? 0,
                                      tid: Self.int(o["tid"]) ?? 0, comm: o["text"]?.string ?? "",
                                      error: signal["action"]?.string == "default" && ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"].contains(signal["name"]?.string ?? "") ? "fatal" : nil))
        } else if let exit = o["exit"]?.object {
            // A thread's end; killed by a signal, marked as a failure (the crash).
            let killer = exit["killed_by"]?.string
            events.append(ReportEvent(time: time, source: "exit", container: container, pid: Self.int(o["pid"]) ?? 0,
                                      tid: Self.int(o["tid"]) ?? 0, comm: o["text"]?.string ?? "",
                                      error: killer.map { "killed by " + $0 }))
        } else if o["stack"] != nil {
            return // the frames are in the dump's text; the timeline marks the signal
        } else if let syscall = o["syscall"]?.string {
            calls.append(ReportCall(time: time, container: container, pid: Self.int(o["pid"]) ?? 0, tid: Self.int(o["tid"]) ?? 0,
                                    syscall: syscall, durationNanoseconds: Self.int(o["duration_ns"]),
                                    ret: Self.int(o["ret"]), error: o["error"]?.string, text: o["text"]?.string ?? ""))
        } else {
            throw SondeError(.malformedInput, "\(place): neither a recorded call (\"syscall\"), a gap nor a gadget event (\"source\")")
        }
    }

    /// Recordings name the container; gadget events carry it as an object.
    static func containerName(_ value: JSONValue?) -> String {
        if let name = value?.string { return name }
        return value?["name"]?.string ?? value?["id"]?.string ?? ""
    }

    static func int(_ value: JSONValue?) -> Int64? {
        value?.integer
    }
}

/// "2026-11-22T14:03:07.123456789Z" -> Unix nanoseconds (the times sonde writes).
enum RFC3339 {
    static func nanoseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        // YYYY-MM-DDTHH:MM:SS at least, then an optional fraction, then Z.
        guard bytes.count >= 20, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54 || bytes[10] == 0x74,
              bytes[13] == 0x3A, bytes[16] == 0x3A, bytes.last == 0x5A || bytes.last == 0x7A else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for b in bytes[range] {
                guard b >= 0x30 && b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var nanos: Int64 = 0
        let end = bytes.count - 1
        if end > 19 {
            guard bytes[19] == 0x2E, end - 20 >= 1, end - 20 <= 9, let fraction = number(20..<end) else { return nil }
            nanos = Int64(fraction)
            for _ in 0..<(9 - (end - 20)) { nanos *= 10 }
        }
        // Days since the epoch (proleptic Gregorian calendar).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = Int64(era * 146_097 + dayOfEra - 719_468)
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000_000_000 + Int64(second) * 1_000_000_000 + nanos
    }
}
