import Foundation
import Testing
@testable import Containers
@testable import LinuxKit

/// Ids of the containers the fixtures were captured from.
enum Captured {
    static let runc = "sonde-probe-runc"
    // podman: run from --rootfs, from an image, a pod's infra container, and a container in that pod.
    static let podmanRootfs = "85ca84f890543d131e5b67a47b0a239c58e969fbb1cfa74fb097ebbec6d96235"
    static let podmanImage = "4a112630a729bb7b439f4f761c4c4e33154f45c45363b6f22b05944fc686e175"
    static let podmanInfra = "d06250e58a0aa8b4c2c32586df752eca26e5224f7a146b859824e589d846a9a8"
    static let podmanInPod = "00e73bf26145e59dcd725506e811ae8dafbe022aba5bd4bacc509c5917298baa"
    static let podmanPod = "d8369dfabda0e960015d89a734885d051f1c5f1df8e162b5111df3882870b0a5"
    // containerd: `ctr run` in namespace default, and two CRI pods in k8s.io (the second with a cgroup parent).
    static let ctr = "sonde-probe-ctr"
    static let webSandbox = "fdad40cdb53fcc693816889f11470e366851e6f6f946a126ca0b46b9969d3769"
    static let webContainer = "ec58db31d1e5bcb0b6c702c6ce17b027cd632d408da16df1c1e20d3681f73862"
    static let dbSandbox = "f51d6197034238093d8ae1e6f788313e67a4842b0397badd2b0bb45e619804ca"
    static let dbContainer = "4d62fd5ffa3a90ea2385ca1be2042d453174d91fcbc252f6932b1b13aca15e70"
    static let webUID = "1f2e3d4c-0000-4000-8000-000000000001"
    static let dbUID = "1f2e3d4c-0000-4000-8000-000000000002"
}

@Suite struct RuncStateTests {
    @Test func decodesRuncsStateFile() throws {
        let path = Fixtures.path("runc/\(Captured.runc)/state.json")
        let state = try RuncStateFile.decode(try Fixtures.data("runc/\(Captured.runc)/state.json"), path: path)
        #expect(state.id == Captured.runc)
        #expect(state.init_process_pid == 10772)
        #expect(state.config?.rootfs == "/tmp/sonde-probe/rootfs")
        #expect(state.cgroup_paths?[""] == "/sys/fs/cgroup/unified/sonde-probe-runc")
        let (annotations, bundle) = state.annotationsAndBundle
        #expect(annotations == ["org.example.team": "sonde"])
        #expect(bundle == "/tmp/sonde-probe/runcbundle")
    }

    @Test func podmanContainersCarryTheLibpodAnnotation() throws {
        for id in [Captured.podmanRootfs, Captured.podmanImage, Captured.podmanInfra, Captured.podmanInPod] {
            let file = "podman/runc/\(id)/state.json"
            let state = try RuncStateFile.decode(try Fixtures.data(file), path: file)
            #expect(state.annotationsAndBundle.annotations["io.container.manager"] == "libpod", "\(id)")
        }
    }

    @Test func malformedStateIsAnErrorNamingTheFile() {
        #expect {
            try RuncStateFile.decode(Data("{\"id\": 5}".utf8), path: "/run/runc/x/state.json")
        } throws: { error in
            guard let error = error as? SondeError else { return false }
            return error.code == .malformedInput && error.message.contains("/run/runc/x/state.json")
        }
    }

    @Test func valuesMayContainEqualsSigns() throws {
        let json = #"{"id":"a","config":{"labels":["k=v=w","bundle=/b","novalue"]}}"#
        let state = try RuncStateFile.decode(Data(json.utf8), path: "p")
        #expect(state.annotationsAndBundle.annotations == ["k": "v=w"])
        #expect(state.annotationsAndBundle.bundle == "/b")
    }

    @Test func readerSkipsMalformedStatesAndReportsThem() throws {
        let host = try FakeHost()
        let root = try host.installRuncRoot(fixture: "runc", as: "runc")
        try host.write("not json", to: "runc/broken/state.json")
        try FileManager.default.createDirectory(atPath: root + "/no-state-yet", withIntermediateDirectories: true)
        var problems: [String] = []
        let entries = RuncStateReader(root: root, namespaced: false).read(problems: &problems)
        #expect(entries.map(\.state.id) == [Captured.runc])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("broken/state.json") == true)
    }

    @Test func namespacedReaderTellsTheNamespace() throws {
        let host = try FakeHost()
        let root = try host.installRuncRoot(fixture: "containerd/runc", as: "containerd-runc")
        var problems: [String] = []
        let entries = RuncStateReader(root: root, namespaced: true).read(problems: &problems)
        #expect(problems.isEmpty)
        #expect(entries.count == 5)
        #expect(entries.first { $0.state.id == Captured.ctr }?.namespace == "default")
        #expect(entries.first { $0.state.id == Captured.webContainer }?.namespace == "k8s.io")
    }

    @Test func runcSourceListsPlainRuncContainersAndLeavesPodmansAlone() throws {
        let host = try FakeHost()
        // podman shares runc's root with plain runc: put both in one.
        let root = try host.installRuncRoot(fixture: "runc", as: "run-runc")
        try host.installRuncRoot(fixture: "podman/runc", as: "run-runc")
        var problems: [String] = []
        let containers = RuncSource(root: root).containers(cgroups: host.cgroups, problems: &problems)
        #expect(problems.isEmpty)
        let container = try #require(containers.first)
        #expect(containers.count == 1)
        #expect(container.runtime == .runc)
        #expect(container.id == Captured.runc && container.name == Captured.runc)
        #expect(container.cgroupPath == "/sonde-probe-runc")
        #expect(container.cgroupID == (try Files.inode(host.cgroups.directory(of: "/sonde-probe-runc"))))
        #expect(container.mountNamespaceID == (try ownMountNamespace()))
        #expect(container.bundle == "/tmp/sonde-probe/runcbundle")
        #expect(container.rootfs == "/tmp/sonde-probe/rootfs")
        #expect(container.annotations == ["org.example.team": "sonde"])
    }

    @Test func containersWhoseCgroupIsGoneAreSkippedSilently() throws {
        let host = try FakeHost()
        let root = try host.installRuncRoot(fixture: "runc", as: "runc", exited: [Captured.runc])
        var problems: [String] = []
        #expect(RuncSource(root: root).containers(cgroups: host.cgroups, problems: &problems).isEmpty)
        #expect(problems.isEmpty)
    }

    @Test func aStateWithoutACgroupV2PathIsAProblem() throws {
        let host = try FakeHost()
        try host.write(#"{"id":"v1only","init_process_pid":1,"cgroup_paths":{"pids":"/sys/fs/cgroup/pids/v1only"}}"#,
                       to: "runc/v1only/state.json")
        var problems: [String] = []
        #expect(RuncSource(root: host.dir + "/runc").containers(cgroups: host.cgroups, problems: &problems).isEmpty)
        #expect(problems == ["runc state of v1only has no cgroup v2 path"])
    }

    @Test func cgroupSourceNormalisesPathsAndReportsMissingOnes() throws {
        let host = try FakeHost()
        try host.makeCgroup("/system.slice/foo.service")
        var problems: [String] = []
        let source = CgroupSource(paths: [host.cgroups.mountPoint + "/system.slice/foo.service", "/missing"])
        let containers = source.containers(cgroups: host.cgroups, problems: &problems)
        #expect(containers.map(\.cgroupPath) == ["/system.slice/foo.service"])
        #expect(containers.first?.name == "foo.service")
        #expect(containers.first?.runtime == .cgroup)
        #expect(problems.count == 1 && problems[0].contains("/missing"))
    }
}
