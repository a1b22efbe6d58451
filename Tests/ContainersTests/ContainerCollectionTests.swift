import Foundation
import Synchronization
import Testing
@testable import Containers
@testable import LinuxKit

/// A source whose containers the test sets.
final class FixedSource: ContainerSource {
    let runtime = RuntimeName.runc
    let list = Mutex<[Container]>([])
    let problem = Mutex<String?>(nil)

    func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        if let message = problem.withLock({ $0 }) { problems.append(message) }
        return list.withLock { $0 }
    }
}

@Suite struct ContainerCollectionTests {
    func container(_ host: FakeHost, _ id: String, _ path: String) throws -> Container {
        try host.makeCgroup(path)
        return Container(runtime: .runc, id: id, name: id, cgroupPath: path, cgroupID: try host.cgroups.id(of: path))
    }

    @Test func refreshReportsChangesAndIndexesNestedCgroups() throws {
        let host = try FakeHost()
        let source = FixedSource()
        let outer = try container(host, "outer", "/outer")
        try host.makeCgroup("/outer/nested/deeper")
        let other = try container(host, "other", "/other")
        source.list.withLock { $0 = [outer, other] }
        source.problem.withLock { $0 = "one state was malformed" }
        let collection = ContainerCollection(cgroups: host.cgroups, sources: [source])

        let first = collection.refresh()
        #expect(Set(first.added.map(\.id)) == ["outer", "other"])
        #expect(first.removed.isEmpty)
        #expect(first.problems == ["one state was malformed"])
        #expect(collection.all.map(\.id) == ["other", "outer"]) // sorted by name
        let deeper = try host.cgroups.id(of: "/outer/nested/deeper")
        #expect(collection.container(cgroupID: deeper)?.id == "outer")
        #expect(collection.container(cgroupID: other.cgroupID)?.id == "other")
        #expect(collection.container(cgroupID: 1) == nil)
        #expect(collection.container(cgroupPath: "/outer/nested")?.id == "outer")
        #expect(collection.container(cgroupPath: "/elsewhere") == nil)
        #expect(collection.cgroupIDs(of: [outer]) == [outer.cgroupID, deeper,
                                                    try host.cgroups.id(of: "/outer/nested")].sorted())

        source.list.withLock { $0 = [outer] }
        source.problem.withLock { $0 = nil }
        let second = collection.refresh()
        #expect(second.added.isEmpty)
        #expect(second.removed.map(\.id) == ["other"])
        #expect(collection.container(cgroupID: other.cgroupID) == nil)
    }

    @Test func theInnermostContainerOwnsANestedPath() throws {
        let host = try FakeHost()
        let source = FixedSource()
        let outer = try container(host, "outer", "/pod")
        let inner = try container(host, "inner", "/pod/inner")
        source.list.withLock { $0 = [outer, inner] }
        let collection = ContainerCollection(cgroups: host.cgroups, sources: [source])
        collection.refresh()
        #expect(collection.container(cgroupPath: "/pod/inner/x")?.id == "inner")
        #expect(collection.container(cgroupPath: "/pod/x")?.id == "outer")
        #expect(collection.container(cgroupID: inner.cgroupID)?.id == "inner")
    }

    @Test func podmanAndContainerdSourcesFeedOneCollection() throws {
        let host = try FakeHost()
        let podmanRoot = try host.installRuncRoot(fixture: "podman/runc", as: "run-runc")
        let containerdRoot = try host.installRuncRoot(fixture: "containerd/runc", as: "containerd-runc")
        try host.write("", to: "containerd.sock")
        let podman = PodmanSource(runcRoot: podmanRoot, run: { _ throws(SondeError) in
            try Fixtures.answer("podman/ps.json")
        })
        let containerd = ContainerdSource(runcRoot: containerdRoot, address: host.dir + "/containerd.sock",
                                          run: { (arguments: [String]) throws(SondeError) in
            try Fixtures.answer("containerd/info/\(arguments[3])/\(arguments[6]).json")
        })
        let collection = ContainerCollection(cgroups: host.cgroups, sources: [RuncSource(root: podmanRoot), podman, containerd])
        let change = collection.refresh()
        #expect(change.problems.isEmpty)
        #expect(change.added.count == 7) // four podman, three containerd; no runc, no sandboxes
        let web = try host.cgroups.id(of: "/k8s.io/\(Captured.webContainer)")
        #expect(collection.container(cgroupID: web)?.pod?.name == "web-0")
        let img = try host.cgroups.id(of: "/libpod_parent/libpod-\(Captured.podmanImage)")
        #expect(collection.container(cgroupID: img)?.name == "sonde-probe-img")
    }
}
