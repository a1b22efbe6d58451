import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace startup` against a real runc container serving TCP: busybox `nc -l` on the
/// host's network, reached by a connection from the host.
@Suite(.serialized) struct TraceStartupTests {
    func step(_ row: Event) -> String { row.string("step") ?? "" }

    func micros(_ row: Event, _ name: String) -> Int64? {
        if case .int(let v)? = row.field(name) { return v }
        return nil
    }

    @Test func aServerContainerReachesEveryMilestoneInOrder() async throws {
        try requireRoot()
        let port = Int.random(in: 20_000...40_000)
        let gadget = try await RunningGadget.start(StartupGadget(), selector: ContainerSelector(runtimes: [.runc]))
        let server = try RuncContainer(prefix: "sonde-it-startup", args: ["nc", "-l", "-p", String(port)], hostNetwork: true)
        defer { server.remove() }
        try server.start()
        // The listen milestone says the server is ready; then connect from the host.
        let listening = try await gadget.wait(timeout: .seconds(30)) {
            $0.container?.name == server.name && $0.string("step") == "listen"
        }
        #expect(listening != nil, "no listen milestone: \(gadget.events.get().map { $0.fields.map(\.name) })")
        let client = try run("/bin/sh", ["-c", "echo hello | /bin/busybox nc 127.0.0.1 \(port)"], timeout: 20)
        #expect(client.status == 0, "the connection failed: \(client.stderr)")
        _ = try await gadget.wait(timeout: .seconds(20)) { $0.container?.name == server.name && $0.string("step") == "accept" }
        let stats = try await gadget.stop()

        let tracker = StartupTracker()
        var summaries: [StartupTimeline] = []
        tracker.onSummary = { summaries.append($0) }
        let rows = gadget.events.get().flatMap(tracker.consume).filter { $0.container?.name == server.name }
        #expect(rows.map(step) == ["runtime", "cgroup", "entrypoint", "listen", "accept", "summary"])
        // In time order, each step measured from the previous one, nothing negative.
        let milestones = rows.dropLast()
        #expect(zip(milestones, milestones.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
        for row in milestones {
            #expect((micros(row, "since_us") ?? -1) >= 0 && (micros(row, "delta_us") ?? -1) >= 0)
        }
        let detail = { (s: String) in rows.first { self.step($0) == s }?.string("detail") ?? "" }
        #expect(detail("runtime").hasSuffix("runc"))
        #expect(detail("cgroup") == "/" + server.name)
        #expect(detail("entrypoint") == "/bin/nc")
        #expect(detail("listen") == "port \(port)")
        #expect(detail("accept").hasPrefix("port \(port) from port "))
        let entrypoint = try #require(rows.first { self.step($0) == "entrypoint" })
        #expect(entrypoint.process.comm == "nc")

        let summary = try #require(rows.last)
        for interval in StartupInterval.allCases {
            let value = try #require(micros(summary, interval.rawValue + "_us"), "no \(interval.rawValue) in the summary")
            #expect(value >= 0)
        }
        #expect(micros(summary, "total_us") == micros(rows[4], "since_us"))
        #expect(summaries.count == 1 && summaries[0].reached == StartupStep.allCases)
        #expect(stats.lost == 0, "\(stats.lossSummary ?? "")")
    }
}

/// What the daemon runs: StartupMonitor feeding the histograms, with a container that ends
/// without ever listening.
@Suite(.serialized) struct StartupMonitorTests {
    @Test func aContainerThatNeverListensIsObservedWhenItEnds() async throws {
        try requireRoot()
        let histograms = StartupHistograms()
        let seen = Locked([StartupTimeline]())
        let ready = Locked(false)
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        // It lives 1.5 s: long enough to be identified while it runs (sonde reads runc's state every
        // 200 ms; a container gone before that cannot be told from any other cgroup).
        let container = try RuncContainer(prefix: "sonde-it-startmon", args: ["sh", "-c", "usleep 1500000"])
        defer { container.remove() }
        let name = container.name
        let task = Task {
            // Other containers may start meanwhile (the machine is shared): keep ours only.
            try await StartupMonitor.run(collection: collection, selector: ContainerSelector(runtimes: [.runc]),
                                         ready: { ready.set(true) }, notice: { print("sonde:", $0) }) { timeline in
                guard timeline.container.name == name else { return }
                seen.update { $0.append(timeline) }
                histograms.observe(timeline)
            }
        }
        #expect(try await eventually(timeout: .seconds(30)) { ready.get() })
        try container.start()
        // A stopped runc container keeps its cgroup until it is deleted: the timeline ends then.
        _ = try await eventually(timeout: .seconds(20)) {
            ((try? run(RuncContainer.runc, ["state", name]))?.stdout.contains("\"stopped\"") ?? false)
        }
        #expect(seen.get().isEmpty, "observed before the container ended")
        container.remove()
        let observed = try await eventually(timeout: .seconds(30)) { !seen.get().isEmpty }
        task.cancel()
        let stats = try await task.value
        #expect(observed, "no timeline was observed")
        let timeline = try #require(seen.get().first)
        #expect(timeline.container.name == name)
        #expect(timeline.reached == [.runtime, .cgroup, .entrypoint])
        #expect(timeline.durations.map(\.interval) == [.runtimeToCgroup, .cgroupToEntrypoint])
        #expect(timeline.durations.allSatisfy { $0.nanoseconds >= 0 })
        let snapshot = histograms.snapshot()
        #expect(snapshot[.runtimeToCgroup]?.count == 1 && snapshot[.cgroupToEntrypoint]?.count == 1)
        #expect(snapshot[.listenToAccept] == nil)
        #expect(histograms.exposition().contains("sonde_container_startup_seconds_count{interval=\"cgroup_to_entrypoint\"} 1"))
        #expect(stats.lost == 0)
    }
}
