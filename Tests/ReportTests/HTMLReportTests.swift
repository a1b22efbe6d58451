import Foundation
import LinuxKit
import Testing
@testable import Report

enum Fixtures {
    static func text(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
    }

    /// The fixture's lines as JSON objects, read independently of the report's own parser.
    static func objects(_ name: String) throws -> [[String: Any]] {
        try text(name).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}

/// The page made from a real recording (Fixtures/recording.json: `sonde record dump -o json` of a
/// runc busybox container running a small shell loop) and a real `trace exec` capture.
@Suite struct HTMLReportTests {
    func render(_ files: [String], startup: String? = nil) throws -> (ReportData, String) {
        var data = ReportData()
        for file in files { try data.read(try Fixtures.text(file), name: file) }
        if let startup { try data.read(startup, name: "startup.json") }
        return (data, HTMLReport().render(data))
    }

    @Test func everySectionIsPresentWithTheRecordingsNumbers() throws {
        let (data, html) = try render(["recording.json"])
        let lines = try Fixtures.objects("recording.json")
        let calls = lines.filter { $0["syscall"] != nil }
        #expect(data.calls.count == calls.count && !calls.isEmpty)
        #expect(html.contains("<ul id=\"overview\">"))
        for id in ["timeline", "latency", "top-syscalls", "errors", "startup"] {
            #expect(html.contains("<section id=\"\(id)\">"), "section \(id) missing")
        }
        // The most frequent syscall, with its count and errors, as the table row shows them.
        var counts: [String: Int] = [:], failures: [String: Int] = [:]
        for call in calls {
            counts[call["syscall"] as! String, default: 0] += 1
            if call["error"] != nil { failures[call["syscall"] as! String, default: 0] += 1 }
        }
        let top = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }!
        #expect(html.contains("<tr><td><code>\(top.key)</code></td><td class=\"n\">\(top.value)</td><td class=\"n\">\(failures[top.key] ?? 0)</td>"))
        // The most frequent error, with its count.
        var errors: [String: Int] = [:]
        for call in calls { if let e = call["error"] as? String { errors["\(call["syscall"]!) \(e)", default: 0] += 1 } }
        let commonest = try #require(errors.max { $0.value < $1.value })
        let parts = commonest.key.split(separator: " ")
        #expect(html.contains("<tr><td><code>\(parts[0])</code></td><td>\(parts[1])</td><td class=\"n\">\(commonest.value)</td>"))
        // One latency chart per syscall with durations (up to 8), each with its call count.
        let timed = Dictionary(grouping: calls.filter { $0["duration_ns"] != nil }, by: { $0["syscall"] as! String })
        let charts = html.components(separatedBy: "<div class=\"hists\">")[1].components(separatedBy: "</div>")[0]
        #expect(charts.components(separatedBy: "<svg ").count - 1 == min(8, timed.count))
        // Charts go to the most frequent syscalls that have durations.
        let byFrequency = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        for name in byFrequency.filter({ timed[$0] != nil }).prefix(8) {
            #expect(charts.contains(">\(name) - \(timed[name]!.count) calls, p50 "), "no chart for \(name)")
        }
        // The timeline has a row per thread (all fit under the default bound) and drawn calls.
        let threads = Set(calls.map { "\($0["container"]!) tid \($0["tid"]!)" })
        #expect(threads.count <= 40)
        for thread in threads { #expect(html.contains(">\(thread)</text>")) }
        #expect(html.components(separatedBy: "<rect ").count > threads.count * 2)
        #expect(html.contains("No start-up capture given"))
    }

    @Test func thePageFetchesNothing() throws {
        let (_, html) = try render(["recording.json", "exec-capture.json"])
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))
        #expect(!html.contains("url("))
        #expect(!html.contains("<link"))
        // The only URL is the SVG namespace name, which is never fetched.
        let urls = html.components(separatedBy: "http").count - 1
        let namespaces = html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1
        #expect(urls == namespaces + 1) // + the CSP meta's http-equiv
        #expect(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
    }

    @Test func gadgetEventsAreCountedPerGadget() throws {
        let (data, html) = try render(["exec-capture.json"])
        let lines = try Fixtures.objects("exec-capture.json")
        #expect(data.events.count == lines.count && !lines.isEmpty)
        #expect(data.events.allSatisfy { $0.source == "exec" && $0.container.hasPrefix("sonde-report-exec-") })
        #expect(html.contains("<tr><td><code>exec</code></td><td class=\"n\">\(lines.count)</td>"))
        #expect(html.contains("No call durations in the inputs"))
    }

    @Test func stringsFromContainersAreEscaped() throws {
        let hostile = "<script>alert('x')</script>&\"\u{1}"
        let time = "2026-11-22T08:00:00.000000001Z"
        let line = try String(decoding: JSONSerialization.data(withJSONObject: [
            "time": time, "container": hostile, "pid": 1, "tid": 1, "syscall": "openat", "nr": 257,
            "ret": -2, "error": "ENOENT", "duration_ns": 1500, "text": "openat(AT_FDCWD, \"\(hostile)\", O_RDONLY) = -1 ENOENT",
        ]), as: UTF8.self)
        let event = try String(decoding: JSONSerialization.data(withJSONObject: [
            "time": time, "source": "exec", "container": ["name": hostile], "pid": 2, "tid": 2, "comm": hostile,
            "ret": -13, "error": "EACCES",
        ]), as: UTF8.self)
        var data = ReportData()
        try data.read(line + "\n" + event + "\n", name: hostile)
        let html = HTMLReport(title: hostile).render(data)
        #expect(!html.contains("<script"))
        #expect(!html.contains("alert('x')"))
        #expect(!html.contains("\u{1}"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\\x01"))
        #expect(HTML.escape("a<b>\"c\"&'d'") == "a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;")
    }

    @Test func startupTimelinesShowTheirMilestonesAndDurations() throws {
        let rows = [
            #"{"time":"2026-11-22T08:00:00.000000000Z","source":"startup","container":{"name":"web"},"pid":10,"tid":10,"comm":"runc","step":"runtime","since_us":0,"delta_us":0,"detail":"/usr/sbin/runc"}"#,
            #"{"time":"2026-11-22T08:00:00.004000000Z","source":"startup","container":{"name":"web"},"pid":10,"tid":10,"comm":"runc","step":"cgroup","since_us":4000,"delta_us":4000,"detail":"/web"}"#,
            #"{"time":"2026-11-22T08:00:00.050000000Z","source":"startup","container":{"name":"web"},"pid":11,"tid":11,"comm":"nc","step":"entrypoint","since_us":50000,"delta_us":46000,"detail":"/bin/nc"}"#,
            #"{"time":"2026-11-22T08:00:00.051000000Z","source":"startup","container":{"name":"web"},"pid":11,"tid":11,"comm":"nc","step":"listen","since_us":51000,"delta_us":1000,"detail":"port 8080"}"#,
            #"{"time":"2026-11-22T08:00:00.051000000Z","source":"startup","container":{"name":"web"},"pid":11,"tid":11,"comm":"nc","step":"summary","reached":["runtime","cgroup","entrypoint","listen"],"runtime_to_cgroup_us":4000,"cgroup_to_entrypoint_us":46000,"entrypoint_to_listen_us":1000,"detail":"..."}"#,
        ].joined(separator: "\n")
        let (data, html) = try render([], startup: rows)
        #expect(data.startup.count == 5)
        #expect(data.startup.last?.durations == ["runtime_to_cgroup": 4000, "cgroup_to_entrypoint": 46000, "entrypoint_to_listen": 1000])
        let section = html.components(separatedBy: "<section id=\"startup\">")[1]
        #expect(section.contains("<h3>web</h3>"))
        #expect(section.contains("<tr><td>entrypoint</td><td class=\"n\">50.0ms</td><td class=\"t\">/bin/nc</td></tr>"))
        #expect(section.contains("cgroup to entrypoint: <b>46.0ms</b>"))
        #expect(section.components(separatedBy: "<circle ").count - 1 == 4)
    }

    @Test func quieterThreadsBeyondTheBoundAreCountedNotDrawn() throws {
        var data = ReportData()
        try data.read(try Fixtures.text("recording.json"), name: "recording.json")
        let threads = Set(data.calls.map(\.tid))
        try #require(threads.count > 3)
        let html = HTMLReport(maxThreads: 3).render(data)
        let timeline = html.components(separatedBy: "<section id=\"timeline\">")[1].components(separatedBy: "</section>")[0]
        #expect(timeline.components(separatedBy: " tid ").count - 1 == 3)
        #expect(timeline.contains("\(threads.count - 3) quieter threads not drawn (\(threads.count) in all)."))
    }

    /// The error reading `text` gives, or nil when it reads.
    func readError(_ text: String, name: String) -> SondeError? {
        var data = ReportData()
        do {
            try data.read(text, name: name)
            return nil
        } catch {
            return error
        }
    }

    @Test func badInputIsAClearError() {
        let notJSON = readError("{\"time\":\"2026-11-22T08:00:00Z\",\"syscall\":\"read\"}\nnot json\n", name: "x.json")
        #expect(notJSON?.message.hasPrefix("x.json:2: not a JSON object") == true)
        let noTime = readError("\n{\"syscall\":\"read\"}\n", name: "y.json")
        #expect(noTime?.message.hasPrefix("y.json:2: no valid \"time\"") == true)
        let unknown = readError("{\"time\":\"2026-11-22T08:00:00Z\",\"what\":1}", name: "z.json")
        #expect(unknown?.message.hasPrefix("z.json:1: neither a recorded call") == true)
    }

    @Test func timesAndStatistics() {
        #expect(RFC3339.nanoseconds("1970-01-01T00:00:01.5Z") == 1_500_000_000)
        #expect(RFC3339.nanoseconds("2026-11-22T08:15:20.750556098Z") == 1_795_335_320_750_556_098)
        #expect(RFC3339.nanoseconds("2026-13-22T08:15:20Z") == nil)
        #expect(RFC3339.nanoseconds("yesterday") == nil)
        var s = SyscallStatistics(syscall: "read")
        s.durations = [500, 1500, 3000, 5000, 2_000_000_000].sorted()
        #expect(s.percentile(0.5) == 3000)
        #expect(s.percentile(0.99) == 2_000_000_000)
        let h = s.histogram
        #expect(h[0] == 2 && h[1] == 1 && h[2] == 1 && h[SyscallStatistics.bucketCount - 1] == 1)
        #expect(DurationText.text(850) == "850ns" && DurationText.text(46_000_000) == "46.0ms" && DurationText.text(1_234_000) == "1.23ms")
    }
}
