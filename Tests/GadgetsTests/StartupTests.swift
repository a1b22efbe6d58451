import BPFKit
import BPFObjects
import Containers
import Events
import Testing
@testable import Gadgets

@Suite struct StartupTests {
    func record(step: UInt32, cgroup: UInt64, port: UInt32 = 0, path: String = "") -> BPFRecord {
        var bytes = [UInt8](repeating: 0, count: StartupGadget.Layout.size)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(UInt32(56), at: 24)
        put(cgroup, at: StartupGadget.Layout.cgroupID)
        put(step, at: StartupGadget.Layout.step)
        put(port, at: StartupGadget.Layout.port)
        bytes.replaceSubrange(StartupGadget.Layout.runtimePath..<StartupGadget.Layout.runtimePath + path.utf8.count, with: Array(path.utf8))
        return BPFRecord(bytes: bytes)
    }

    func decode(_ record: BPFRecord) -> [(name: String, value: FieldValue)]? {
        guard let header = RecordHeader(record) else { return nil }
        return StartupGadget().decode(record, header: header)
    }

    @Test func recordsDecodeToTheirStep() throws {
        let fields = try #require(decode(record(step: 3, cgroup: 77, port: 8080)))
        #expect(fields.map(\.name) == ["step", "cgroup", "port"])
        #expect(fields[0].value == .string("listen") && fields[1].value == .uint(77) && fields[2].value == .uint(8080))
        #expect(decode(record(step: 2, cgroup: 77, path: "/bin/nc"))?.last?.value == .string("/bin/nc"))
        // An unknown step or a short record is corrupt, not a crash.
        #expect(decode(record(step: 9, cgroup: 77)) == nil)
        #expect(decode(BPFRecord(bytes: Array(record(step: 3, cgroup: 77).bytes.prefix(100)))) == nil)
    }

    let web = Container(runtime: .runc, id: "web", name: "web", cgroupPath: "/web", cgroupID: 500)

    func event(_ ms: Int64, _ fields: [(name: String, value: FieldValue)], container: Container? = nil) -> Event {
        Event(timestamp: 1_000_000_000_000 + ms * 1_000_000, source: "startup",
              process: ProcessRef(pid: 1, tid: 1, ppid: 0, uid: 0, gid: 0, comm: "x"), cgroupID: 0, mountNamespaceID: 0,
              container: container, fields: fields)
    }

    func step(_ row: Event) -> String {
        if case .string(let s)? = row.field("step") { return s }
        return ""
    }

    @Test func milestonesMakeATimelineWithDurations() {
        let tracker = StartupTracker()
        let histograms = StartupHistograms()
        tracker.onSummary = { histograms.observe($0) }
        var rows: [Event] = []
        // The runtime was exec'd at 0 ms and made the cgroup at 3 ms; an unrelated cgroup too.
        rows += tracker.consume(event(3, [("step", .string("cgroup")), ("cgroup", .uint(500)),
                                          ("runtime_exec_ns", .int(1_000_000_000_000)), ("path", .string("/usr/sbin/runc")),
                                          ("cgroup_path", .string("/web"))]))
        rows += tracker.consume(event(4, [("step", .string("cgroup")), ("cgroup", .uint(501)), ("runtime_exec_ns", .int(0))]))
        #expect(rows.isEmpty)
        rows += tracker.consume(event(40, [("step", .string("entrypoint")), ("cgroup", .uint(500)), ("path", .string("/bin/nc"))], container: web))
        #expect(rows.map(step) == ["runtime", "cgroup", "entrypoint"])
        #expect(rows[2].field("since_us") == .int(40_000) && rows[2].field("delta_us") == .int(37_000))
        // A second exec is no new milestone.
        #expect(tracker.consume(event(41, [("step", .string("entrypoint")), ("cgroup", .uint(500))], container: web)).isEmpty)
        rows = tracker.consume(event(45, [("step", .string("listen")), ("cgroup", .uint(500)), ("port", .uint(8080))], container: web))
        rows += tracker.consume(event(145, [("step", .string("accept")), ("cgroup", .uint(500)), ("port", .uint(8080)), ("peer_port", .uint(40000))], container: web))
        #expect(rows.map(step) == ["listen", "accept", "summary"])
        #expect(rows[0].field("detail") == .string("port 8080"))
        let summary = rows[2]
        #expect(summary.field("runtime_to_cgroup_us") == .int(3000))
        #expect(summary.field("cgroup_to_entrypoint_us") == .int(37_000))
        #expect(summary.field("entrypoint_to_listen_us") == .int(5000))
        #expect(summary.field("listen_to_accept_us") == .int(100_000))
        #expect(summary.field("total_us") == .int(145_000))
        // Ended after its summary: nothing more; a container never seen being made has no timeline.
        #expect(tracker.consume(event(200, [("step", .string("gone")), ("cgroup", .uint(500))])).isEmpty)
        let old = Container(runtime: .runc, id: "old", name: "old", cgroupPath: "/old", cgroupID: 9)
        #expect(tracker.consume(event(201, [("step", .string("listen")), ("cgroup", .uint(9))], container: old)).isEmpty)

        let h = histograms.snapshot()
        #expect(h[.listenToAccept]?.count == 1 && h[.total]?.count == 1)
        #expect(h[.runtimeToCgroup]?.cumulative[StartupHistograms.bounds.firstIndex(of: 0.0025)!] == 0)
        #expect(h[.runtimeToCgroup]?.cumulative[StartupHistograms.bounds.firstIndex(of: 0.005)!] == 1)
        let text = histograms.exposition()
        #expect(text.contains("# TYPE sonde_container_startup_seconds histogram"))
        #expect(text.contains("sonde_container_startup_seconds_bucket{interval=\"listen_to_accept\",le=\"0.1\"} 1"))
        #expect(text.contains("sonde_container_startup_seconds_bucket{interval=\"listen_to_accept\",le=\"0.05\"} 0"))
        #expect(text.contains("sonde_container_startup_seconds_count{interval=\"cgroup_to_entrypoint\"} 1"))
    }

    @Test func aContainerThatNeverListensShowsWhatItReached() {
        let tracker = StartupTracker()
        _ = tracker.consume(event(0, [("step", .string("cgroup")), ("cgroup", .uint(500)), ("runtime_exec_ns", .int(0))]))
        let rows = tracker.consume(event(20, [("step", .string("entrypoint")), ("cgroup", .uint(500))], container: web))
        // Without the runtime's exec (it predates sonde), the timeline starts at the cgroup.
        #expect(rows.map(step) == ["cgroup", "entrypoint"])
        let end = tracker.consume(event(30, [("step", .string("gone")), ("cgroup", .uint(500))]))
        #expect(end.map(step) == ["summary"])
        #expect(end[0].field("reached") == .strings(["cgroup", "entrypoint"], truncated: false))
        #expect(end[0].field("cgroup_to_entrypoint_us") == .int(20_000))
        #expect(end[0].field("total_us") == nil)
        #expect(tracker.finish(at: 0).isEmpty)
    }
}
