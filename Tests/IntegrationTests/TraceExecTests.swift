import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace exec` against real runc containers, in process (GadgetSession) so the assertions
/// see typed events. Serialized: they share the kernel and runc's state directory.
@Suite(.serialized) struct TraceExecTests {
    /// Starts the exec gadget; returns the task and the events it collects.
    func startGadget(_ selector: ContainerSelector, sources: [any ContainerSource]) async throws
        -> (task: Task<GadgetStats, any Error>, events: Locked<[Event]>) {
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: sources)
        let session = GadgetSession(gadget: ExecGadget(), collection: collection,
                                    options: GadgetOptions(selector: selector), notice: { print("sonde:", $0) })
        let events = Locked([Event]())
        let ready = Locked(false)
        let task = Task {
            try await session.run(ready: { ready.set(true) }, sink: { event in events.update { $0.append(event) } })
        }
        guard try await eventually(timeout: .seconds(30), { ready.get() }) else {
            task.cancel()
            _ = try await task.value
            throw TestFailure("the exec gadget did not attach")
        }
        return (task, events)
    }

    func args(_ event: Event) -> [String] {
        if case .strings(let list, _)? = event.field("args") { return list }
        return []
    }

    func truncated(_ event: Event) -> Bool {
        if case .strings(_, let cut)? = event.field("args") { return cut }
        return false
    }

    @Test func eachExecIsAttributedToItsOwnContainer() async throws {
        // A runs before sonde starts and waits for a file before its execs; B starts after.
        let a = try RuncContainer(prefix: "sonde-it-a", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; /bin/true marker-A one two; /nonexistent-A x; exit 0",
        ])
        defer { a.remove() }
        try a.start()
        let (task, events) = try await startGadget(ContainerSelector(runtimes: [.runc]), sources: [RuncSource()])

        let scriptB = "/bin/true marker-B three; /nonexistent-B y; /bin/true $(seq 1 3000); " +
            "/bin/true long $(head -c 6000 /dev/zero | tr '\\0' a)"
        let b = try RuncContainer(prefix: "sonde-it-b", args: ["sh", "-c", scriptB])
        defer { b.remove() }
        try b.start()
        FileManager.default.createFile(atPath: a.rootfs.appendingPathComponent("tmp/go").path, contents: nil)

        func find(_ predicate: @escaping (Event) -> Bool) -> Event? { events.get().first(where: predicate) }
        let seen = try await eventually {
            find { self.args($0).contains("marker-A") } != nil && find { self.args($0).first == "/nonexistent-A" } != nil
                && find { self.args($0).contains("marker-B") } != nil && find { self.args($0).first == "/nonexistent-B" } != nil
                && find { self.args($0).contains("3000") || (self.args($0).count > 100 && self.truncated($0)) } != nil
                && find { self.args($0).prefix(2) == ["/bin/true", "long"] } != nil
        }
        task.cancel()
        let stats = try await task.value
        #expect(seen, "not every expected exec arrived: \(events.get().map { self.args($0) })")

        let markerA = try #require(find { self.args($0).contains("marker-A") })
        #expect(markerA.container?.name == a.name)
        #expect(markerA.container?.runtime == .runc)
        #expect(args(markerA) == ["/bin/true", "marker-A", "one", "two"])
        #expect(markerA.field("ret") == .result(0))
        #expect(markerA.field("path") == .string("/bin/true"))
        #expect(markerA.process.comm == "true")

        let failedA = try #require(find { self.args($0).first == "/nonexistent-A" })
        #expect(failedA.container?.name == a.name)
        #expect(failedA.field("ret") == .result(-Int64(ENOENT)))

        let markerB = try #require(find { self.args($0).contains("marker-B") })
        #expect(markerB.container?.name == b.name)
        #expect(args(markerB) == ["/bin/true", "marker-B", "three"])
        let failedB = try #require(find { self.args($0).first == "/nonexistent-B" })
        #expect(failedB.container?.name == b.name)
        #expect(failedB.field("ret") == .result(-Int64(ENOENT)))

        // B started after the gadget: seen from its very first exec, the entrypoint.
        let entrypoint = try #require(find { $0.container?.name == b.name && self.args($0).first == "sh" })
        #expect(args(entrypoint) == ["sh", "-c", scriptB])

        // Nothing of A is attributed to B, nor the other way round, nor to anything else.
        for event in events.get() {
            #expect(event.container != nil, "an event without a container: \(args(event))")
            if args(event).contains(where: { $0.hasSuffix("-A") || $0 == "marker-A" }) { #expect(event.container?.name == a.name) }
            if args(event).contains(where: { $0.hasSuffix("-B") || $0 == "marker-B" }) { #expect(event.container?.name == b.name) }
        }

        // A huge argv is cut at the bound and marked, never a crash.
        let huge = try #require(find { self.args($0).first == "/bin/true" && self.args($0).count > 100 })
        #expect(truncated(huge))
        #expect(args(huge).count < 3001)
        #expect(args(huge).prefix(3) == ["/bin/true", "1", "2"])
        let long = try #require(find { self.args($0).prefix(2) == ["/bin/true", "long"] })
        #expect(truncated(long))
        #expect(args(long)[2].allSatisfy { $0 == "a" } && args(long)[2].count < 6000)

        #expect(stats.lost == 0, "\(stats.lossSummary ?? "")")
        #expect(stats.delivered == UInt64(events.get().count))
    }

    @Test func aPlainCgroupIsTracedLikeAContainerWithItsNestedCgroups() async throws {
        let cgroups = try CgroupV2.find()
        let name = "sonde-it-cg-\(UInt32.random(in: 0...UInt32.max))"
        let directory = cgroups.directory(of: "/" + name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer {
            rmdir(directory + "/child")
            rmdir(directory)
        }
        let (task, events) = try await startGadget(ContainerSelector(cgroupPaths: ["/" + name]),
                                                   sources: [CgroupSource(paths: ["/" + name])])
        // A cgroup made inside the traced one after the start belongs to it too.
        try FileManager.default.createDirectory(atPath: directory + "/child", withIntermediateDirectories: false)
        let inside = try run("/bin/sh", ["-c", "echo $$ > \(directory)/child/cgroup.procs && exec /bin/true cg-marker"])
        #expect(inside.status == 0, "\(inside.stderr)")
        let outside = try run("/bin/true", ["not-selected-marker"])
        #expect(outside.status == 0)

        let seen = try await eventually { events.get().contains { self.args($0).contains("cg-marker") } }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let stats = try await task.value
        #expect(seen)
        let event = try #require(events.get().first { args($0).contains("cg-marker") })
        #expect(event.container?.runtime == .cgroup)
        #expect(event.container?.name == name)
        #expect(event.cgroupID == (try cgroups.id(of: "/\(name)/child")))
        #expect(!events.get().contains { args($0).contains("not-selected-marker") })
        #expect(stats.lost == 0)
    }

    @Test func hostModeSeesEveryProcess() async throws {
        let (task, events) = try await startGadget(ContainerSelector(host: true), sources: [RuncSource()])
        let marker = "host-marker-\(UInt32.random(in: 0...UInt32.max))"
        try run("/bin/true", [marker])
        let seen = try await eventually { events.get().contains { self.args($0).contains(marker) } }
        task.cancel()
        _ = try await task.value
        #expect(seen)
        let event = try #require(events.get().first { args($0).contains(marker) })
        #expect(event.container == nil)
        #expect(event.field("ret") == .result(0))
    }
}
