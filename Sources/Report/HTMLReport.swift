import Foundation

/// `sonde report`: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched:
/// its Content-Security-Policy forbids it) from a recording, gadget captures and a start-up capture.
/// Every string that came from a container (names, comms, syscall texts, paths) goes through
/// `HTML.escape`.
public struct HTMLReport: Sendable {
    public var title: String
    /// Threads drawn in the timeline, the busiest first; the others are counted.
    public var maxThreads: Int
    /// Width of the timeline's drawing area in SVG units; calls are binned per unit.
    public var timelineWidth: Int
    /// Syscalls with a latency histogram, the most frequent first.
    public var maxHistograms: Int
    /// Rows of the top syscalls and errors tables.
    public var maxRows: Int

    public init(title: String = "sonde report", maxThreads: Int = 40, timelineWidth: Int = 1000,
                maxHistograms: Int = 8, maxRows: Int = 30) {
        self.title = title
        self.maxThreads = maxThreads
        self.timelineWidth = timelineWidth
        self.maxHistograms = maxHistograms
        self.maxRows = maxRows
    }

    public func render(_ data: ReportData) -> String {
        let stats = ReportStatistics(data)
        var body = "<h1>" + HTML.escape(title) + "</h1>\n"
        body += overview(data)
        body += section("timeline", "Syscalls per thread", timeline(data))
        body += section("latency", "Latency histograms", latency(stats))
        body += section("top-syscalls", "Top syscalls", topSyscalls(stats, data))
        body += section("errors", "Errors", errors(stats))
        body += section("startup", "Start-up timeline", startup(data))
        if !data.gaps.isEmpty { body += section("losses", "Records the recorder lost", losses(data)) }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <title>\(HTML.escape(title))</title>
        <style>\(Self.css)</style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }

    static let css = """
    body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
    h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
    table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
    td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}code,td.t{font-family:ui-monospace,monospace;font-size:12px}
    .note{color:#666}.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
    .hists{display:flex;flex-wrap:wrap;gap:12px}svg text{font:11px system-ui,sans-serif;fill:#333}
    """

    // MARK: sections

    func section(_ id: String, _ heading: String, _ content: String) -> String {
        "<section id=\"\(id)\">\n<h2>\(HTML.escape(heading))</h2>\n\(content)</section>\n"
    }

    func overview(_ data: ReportData) -> String {
        let containers = Set(data.calls.map(\.container) + data.events.map(\.container) + data.startup.map(\.container))
            .filter { !$0.isEmpty }.sorted()
        let times = data.calls.map(\.time) + data.events.map(\.time)
        var items: [String] = []
        items.append("Inputs: " + data.inputs.map { "<code>" + HTML.escape($0) + "</code>" }.joined(separator: ", "))
        items.append("Containers: " + (containers.isEmpty ? "none" : containers.map(HTML.escape).joined(separator: ", ")))
        // A recording's signals and thread exits are drawn like events, but are not a gadget's.
        let recorded = data.events.filter { ReportEvent.recordingSources.contains($0.source) }
        items.append("\(data.calls.count) recorded syscalls, \(data.events.count - recorded.count) gadget events, "
                     + "\(data.startup.filter { $0.step != "summary" }.count) start-up milestones")
        if !recorded.isEmpty {
            let signals = recorded.filter { $0.source == "signal" }.count
            let killed = recorded.filter { $0.source == "exit" && $0.error != nil }.count
            items.append("\(signals) signals, \(recorded.count - signals) thread exits (\(killed) killed by a signal)")
        }
        if let first = times.min(), let last = times.max() {
            items.append("Span: " + DurationText.text(last - first))
        }
        return "<ul id=\"overview\">" + items.map { "<li>\($0)</li>" }.joined() + "</ul>\n"
    }

    struct ThreadKey: Hashable, Comparable {
        var container: String
        var tid: Int64
        static func < (a: Self, b: Self) -> Bool { (a.container, a.tid) < (b.container, b.tid) }
    }

    func timeline(_ data: ReportData) -> String {
        guard !data.calls.isEmpty || !data.events.isEmpty else { return "<p class=\"note\">No recorded calls or gadget events.</p>\n" }
        var byThread: [ThreadKey: (calls: [ReportCall], events: [ReportEvent])] = [:]
        for call in data.calls { byThread[ThreadKey(container: call.container, tid: call.tid), default: ([], [])].calls.append(call) }
        for event in data.events { byThread[ThreadKey(container: event.container, tid: event.tid), default: ([], [])].events.append(event) }
        let busiest = byThread.sorted { ($0.value.calls.count + $0.value.events.count, $1.key) > ($1.value.calls.count + $1.value.events.count, $0.key) }
        let shown = busiest.prefix(maxThreads).sorted { $0.key < $1.key }
        let t0 = min(data.calls.map(\.time).min() ?? .max, data.events.map(\.time).min() ?? .max)
        let t1 = max(data.calls.map { $0.time + max($0.durationNanoseconds ?? 0, 0) }.max() ?? .min, data.events.map(\.time).max() ?? .min)
        let span = max(t1 - t0, 1)
        let width = timelineWidth, labelWidth = 240, rowHeight = 16, top = 8
        func x(_ t: Int64) -> Int { min(width - 1, max(0, Int(Double(t - t0) / Double(span) * Double(width)))) }

        var svg = ""
        var colours: [String: Int] = [:] // syscall -> calls, for the legend
        for (row, (key, entry)) in shown.enumerated() {
            let y = top + row * rowHeight
            svg += "<text x=\"0\" y=\"\(y + 11)\">" + HTML.escape(HTML.cut("\(key.container) tid \(key.tid)", 36)) + "</text>\n"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 1)\" width=\"\(width)\" height=\"\(rowHeight - 2)\" fill=\"#f4f4f4\"/>\n"
            // Calls of one thread do not overlap: those wider than a unit are drawn alone (at most
            // `width` of them), the others are binned per unit and drawn in their most frequent syscall.
            var bins: [Int: (counts: [String: Int], errors: Int)] = [:]
            for call in entry.calls {
                colours[call.syscall, default: 0] += 1
                let start = x(call.time), end = x(call.time + max(call.durationNanoseconds ?? 0, 0))
                if end > start {
                    let fill = call.error != nil ? HTML.errorColour : HTML.colour(call.syscall)
                    let duration = call.durationNanoseconds.map(DurationText.text) ?? "?"
                    svg += "<rect x=\"\(labelWidth + start)\" y=\"\(y + 3)\" width=\"\(end - start)\" height=\"\(rowHeight - 6)\" fill=\"\(fill)\" fill-opacity=\"0.7\">"
                        + "<title>" + HTML.escape(HTML.cut(call.text.isEmpty ? call.syscall : call.text, 200) + " (" + duration + ")") + "</title></rect>\n"
                } else {
                    bins[start, default: ([:], 0)].counts[call.syscall, default: 0] += 1
                    if call.error != nil { bins[start]!.errors += 1 }
                }
            }
            for (bin, content) in bins.sorted(by: { $0.key < $1.key }) {
                let dominant = content.counts.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
                let total = content.counts.values.reduce(0, +)
                let fill = content.errors > 0 ? HTML.errorColour : HTML.colour(dominant)
                let tip = content.counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(12).map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
                svg += "<rect x=\"\(labelWidth + bin)\" y=\"\(y + 2)\" width=\"1\" height=\"\(rowHeight - 4)\" fill=\"\(fill)\">"
                    + "<title>" + HTML.escape("\(total) calls: \(tip)" + (content.errors > 0 ? ", \(content.errors) failed" : "")) + "</title></rect>\n"
            }
            var marked = Set<Int>()
            for event in entry.events where marked.insert(x(event.time)).inserted {
                let ex = labelWidth + x(event.time)
                svg += "<path d=\"M\(ex) \(y + 1) l-3 6 h6 z\" fill=\"\(event.error != nil ? HTML.errorColour : HTML.colour("trace " + event.source))\">"
                    + "<title>" + HTML.escape("\(event.source): \(event.comm) pid \(event.pid)" + (event.error.map { " " + $0 } ?? "")) + "</title></path>\n"
            }
        }
        let axisY = top + shown.count * rowHeight + 4
        svg += "<line x1=\"\(labelWidth)\" y1=\"\(axisY)\" x2=\"\(labelWidth + width)\" y2=\"\(axisY)\" stroke=\"#999\"/>\n"
        for tick in 0...5 {
            let tx = labelWidth + tick * width / 5
            let anchor = tick == 0 ? "start" : (tick == 5 ? "end" : "middle")
            svg += "<line x1=\"\(tx)\" y1=\"\(axisY)\" x2=\"\(tx)\" y2=\"\(axisY + 4)\" stroke=\"#999\"/>"
                + "<text x=\"\(tx)\" y=\"\(axisY + 16)\" text-anchor=\"\(anchor)\">+" + DurationText.text(span * Int64(tick) / 5) + "</text>\n"
        }
        let height = axisY + 22
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + width + 10)\" height=\"\(height)\" role=\"img\">\n" + svg + "</svg>\n"
        let legend = colours.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(12)
        out += "<p class=\"legend\">" + legend.map { "<span><i class=\"sw\" style=\"background:\(HTML.colour($0.key))\"></i>" + HTML.escape($0.key) + "</span>" }.joined()
            + "<span><i class=\"sw\" style=\"background:\(HTML.errorColour)\"></i>failed call</span></p>\n"
        if busiest.count > shown.count {
            out += "<p class=\"note\">\(busiest.count - shown.count) quieter threads not drawn (\(busiest.count) in all).</p>\n"
        }
        return out
    }

    func latency(_ stats: ReportStatistics) -> String {
        let timed = stats.syscalls.filter { !$0.durations.isEmpty }.prefix(maxHistograms)
        guard !timed.isEmpty else { return "<p class=\"note\">No call durations in the inputs (gadget captures carry none; recordings do).</p>\n" }
        var out = "<div class=\"hists\">\n"
        for s in timed {
            let buckets = s.histogram
            let first = buckets.firstIndex { $0 > 0 }!, last = buckets.lastIndex { $0 > 0 }!
            let shown = Array(first...last)
            let peak = buckets.max()!
            let barWidth = max(8, min(36, 280 / shown.count)), chartHeight = 90, base = 126
            let svgWidth = max(300, shown.count * barWidth + 20)
            var svg = "<text x=\"4\" y=\"14\">" + HTML.escape(s.syscall) + " - \(s.durations.count) calls, p50 "
                + DurationText.text(s.percentile(0.5)!) + ", p99 " + DurationText.text(s.percentile(0.99)!) + "</text>\n"
            for (i, bucket) in shown.enumerated() {
                let h = buckets[bucket] == 0 ? 0 : max(1, buckets[bucket] * chartHeight / peak)
                let bx = 10 + i * barWidth
                svg += "<rect x=\"\(bx)\" y=\"\(base - h)\" width=\"\(barWidth - 2)\" height=\"\(h)\" fill=\"\(HTML.colour(s.syscall))\">"
                    + "<title>" + HTML.escape(SyscallStatistics.bucketLabel(bucket)) + ": \(buckets[bucket])</title></rect>\n"
                if buckets[bucket] > 0 {
                    svg += "<text x=\"\(bx + (barWidth - 2) / 2)\" y=\"\(base - h - 2)\" text-anchor=\"middle\">\(buckets[bucket])</text>\n"
                }
                if i % 2 == 0 || shown.count <= 6 {
                    svg += "<text x=\"\(bx)\" y=\"\(base + 14)\">" + HTML.escape(SyscallStatistics.bucketLabel(bucket)) + "</text>\n"
                }
            }
            out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(svgWidth)\" height=\"\(base + 20)\" role=\"img\">\n" + svg + "</svg>\n"
        }
        return out + "</div>\n<p class=\"note\">Buckets double from 2 us; each bar counts the calls from its label up to the next.</p>\n"
    }

    func topSyscalls(_ stats: ReportStatistics, _ data: ReportData) -> String {
        var rows: [String] = []
        if !stats.syscalls.isEmpty {
            rows.append("<table><tr><th>syscall</th><th class=\"n\">calls</th><th class=\"n\">errors</th><th class=\"n\">total time</th><th class=\"n\">p50</th><th class=\"n\">p90</th><th class=\"n\">p99</th><th class=\"n\">max</th></tr>")
            for s in stats.syscalls.prefix(maxRows) {
                let q = { (p: Double) in s.percentile(p).map(DurationText.text) ?? "-" }
                rows.append("<tr><td><code>" + HTML.escape(s.syscall) + "</code></td><td class=\"n\">\(s.calls)</td><td class=\"n\">\(s.errors)</td><td class=\"n\">"
                            + (s.durations.isEmpty ? "-" : DurationText.text(s.totalNanoseconds)) + "</td><td class=\"n\">" + q(0.5) + "</td><td class=\"n\">" + q(0.9)
                            + "</td><td class=\"n\">" + q(0.99) + "</td><td class=\"n\">" + (s.durations.last.map(DurationText.text) ?? "-") + "</td></tr>")
            }
            rows.append("</table>")
            if stats.syscalls.count > maxRows { rows.append("<p class=\"note\">\(stats.syscalls.count - maxRows) more syscalls not listed.</p>") }
        }
        if !data.events.isEmpty {
            var bySource: [String: (count: Int, errors: Int, containers: Set<String>)] = [:]
            for e in data.events {
                bySource[e.source, default: (0, 0, [])].count += 1
                if e.error != nil { bySource[e.source]!.errors += 1 }
                bySource[e.source]!.containers.insert(e.container)
            }
            rows.append("<table><tr><th>gadget</th><th class=\"n\">events</th><th class=\"n\">errors</th><th class=\"n\">containers</th></tr>")
            for (source, v) in bySource.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
                rows.append("<tr><td><code>" + HTML.escape(source) + "</code></td><td class=\"n\">\(v.count)</td><td class=\"n\">\(v.errors)</td><td class=\"n\">\(v.containers.count)</td></tr>")
            }
            rows.append("</table>")
        }
        return rows.isEmpty ? "<p class=\"note\">No recorded calls or gadget events.</p>\n" : rows.joined(separator: "\n") + "\n"
    }

    func errors(_ stats: ReportStatistics) -> String {
        guard !stats.errors.isEmpty else { return "<p class=\"note\">No failed calls.</p>\n" }
        var out = "<table><tr><th>call</th><th>error</th><th class=\"n\">count</th><th>example</th></tr>\n"
        for e in stats.errors.prefix(maxRows) {
            out += "<tr><td><code>" + HTML.escape(e.what) + "</code></td><td>" + HTML.escape(e.error) + "</td><td class=\"n\">\(e.count)</td><td class=\"t\">"
                + HTML.escape(HTML.cut(e.example, 160)) + "</td></tr>\n"
        }
        return out + "</table>\n"
    }

    func startup(_ data: ReportData) -> String {
        guard !data.startup.isEmpty else {
            return "<p class=\"note\">No start-up capture given (record one with <code>sonde trace startup -o json</code>, pass it with <code>--startup</code>).</p>\n"
        }
        var order: [String] = []
        var byContainer: [String: [ReportStartupRow]] = [:]
        for row in data.startup {
            if byContainer[row.container] == nil { order.append(row.container) }
            byContainer[row.container, default: []].append(row)
        }
        var out = ""
        for name in order {
            let rows = byContainer[name]!
            let milestones = rows.filter { $0.step != "summary" }.sorted { $0.sinceMicroseconds < $1.sinceMicroseconds }
            out += "<h3>" + HTML.escape(name) + "</h3>\n"
            if let last = milestones.last, last.sinceMicroseconds > 0 {
                let width = 800, left = 40
                let total = Double(last.sinceMicroseconds)
                var svg = "<line x1=\"\(left)\" y1=\"30\" x2=\"\(left + width)\" y2=\"30\" stroke=\"#bbb\" stroke-width=\"2\"/>\n"
                var previousX = left
                for (i, m) in milestones.enumerated() {
                    let mx = left + Int(Double(m.sinceMicroseconds) / total * Double(width))
                    if mx > previousX {
                        svg += "<rect x=\"\(previousX)\" y=\"25\" width=\"\(mx - previousX)\" height=\"10\" fill=\"\(HTML.colour(m.step))\"/>\n"
                    }
                    svg += "<circle cx=\"\(mx)\" cy=\"30\" r=\"5\" fill=\"#333\"/>"
                        + "<text x=\"\(mx)\" y=\"\(i % 2 == 0 ? 16 : 52)\" text-anchor=\"middle\">" + HTML.escape(m.step) + "</text>\n"
                    previousX = mx
                }
                out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + 2 * left)\" height=\"60\" role=\"img\">\n" + svg + "</svg>\n"
            }
            out += "<table><tr><th>milestone</th><th class=\"n\">since start</th><th>detail</th></tr>\n"
            for m in milestones {
                out += "<tr><td>" + HTML.escape(m.step) + "</td><td class=\"n\">" + DurationText.text(m.sinceMicroseconds * 1000)
                    + "</td><td class=\"t\">" + HTML.escape(HTML.cut(m.detail, 160)) + "</td></tr>\n"
            }
            out += "</table>\n"
            for summary in rows where summary.step == "summary" {
                let intervals = ["runtime_to_cgroup", "cgroup_to_entrypoint", "entrypoint_to_listen", "listen_to_accept", "total"]
                let cells = intervals.compactMap { key in summary.durations[key].map { HTML.escape(key.replacingOccurrences(of: "_", with: " ")) + ": <b>" + DurationText.text($0 * 1000) + "</b>" } }
                out += "<p>" + (cells.isEmpty ? "no durations" : cells.joined(separator: " &middot; ")) + "</p>\n"
            }
        }
        return out
    }

    func losses(_ data: ReportData) -> String {
        var by: [String: (overwritten: Int64, dropped: Int64, unreadable: Int64)] = [:]
        for g in data.gaps {
            by[g.container, default: (0, 0, 0)].overwritten += g.overwritten
            by[g.container]!.dropped += g.dropped
            by[g.container]!.unreadable += g.unreadable
        }
        var out = "<table><tr><th>container</th><th class=\"n\">overwritten</th><th class=\"n\">too large</th><th class=\"n\">unreadable</th></tr>\n"
        for (name, v) in by.sorted(by: { $0.key < $1.key }) {
            out += "<tr><td>" + HTML.escape(name) + "</td><td class=\"n\">\(v.overwritten)</td><td class=\"n\">\(v.dropped)</td><td class=\"n\">\(v.unreadable)</td></tr>\n"
        }
        return out + "</table>\n"
    }
}

/// Escaping and colours.
public enum HTML {
    /// Text safe in element content and in quoted attribute values. Control characters (which a
    /// container may put in a comm or a path) are shown as \xNN rather than passed raw.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value) {
                    out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// At most `limit` characters, marked with "..." when cut.
    static func cut(_ s: String, _ limit: Int) -> String {
        s.count <= limit ? s : String(s.prefix(limit)) + "..."
    }

    static let errorColour = "#d62728"

    /// A stable colour per name (FNV-1a of its bytes picks the hue), the same in every report.
    static func colour(_ name: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        // Keep clear of the error red (hues near 0/360).
        let hue = 20 + Int(hash % 300)
        return "hsl(\(hue),55%,50%)"
    }
}
