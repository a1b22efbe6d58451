import Foundation
import Testing
@testable import Containers
@testable import LinuxKit

@Suite struct ContainerdRecordTests {
    func record(_ namespace: String, _ id: String) throws -> ContainerdRecord {
        try ContainerdRecord.parse(try Fixtures.data("containerd/info/\(namespace)/\(id).json"), what: id)
    }

    @Test func plainContainerHasContainerdLabelsAndImage() throws {
        let record = try record("default", Captured.ctr)
        #expect(record.id == Captured.ctr)
        #expect(record.image == "localhost/sonde-busybox:latest")
        #expect(record.labels == ["team": "sonde", "io.containerd.image.config.stop-signal": "SIGTERM"])
        #expect(record.cri == nil)
    }

    @Test func sandboxRecordHoldsThePodsLabelsAndMetadata() throws {
        let record = try record("k8s.io", Captured.webSandbox)
        // containerd's labels mix the pod's labels with the CRI plugin's own...
        #expect(record.labels == ["app": "web", "tier": "front", "io.cri-containerd.kind": "sandbox"])
        // ...its CRI record has them as the kubelet sent them.
        let cri = try #require(record.cri)
        #expect(cri.labels == ["app": "web", "tier": "front"])
        #expect(cri.annotations == ["sonde.test/pod-annotation": "yes"])
        #expect(cri.metadata == .init(name: "web-0", uid: Captured.webUID, namespace: "shop"))
        #expect(record.kubernetesLabels == ["app": "web", "tier": "front"])
        #expect(record.image == "localhost/sonde-pause:latest")
    }

    @Test func criContainerRecordHoldsKubernetesLabelsAndAnnotations() throws {
        let record = try record("k8s.io", Captured.webContainer)
        let cri = try #require(record.cri)
        #expect(cri.metadata?.name == "nginx")
        #expect(cri.image?.image == "localhost/sonde-busybox:latest")
        #expect(cri.annotations == ["sonde.test/container-annotation": "yes"])
        #expect(record.kubernetesLabels == ["sonde.test/container-label": "yes"])
    }

    @Test func withoutACRIRecordTheCRIPluginsOwnLabelsAreDropped() throws {
        let json = #"""
        {"ID":"s1","Labels":{"app":"web","io.cri-containerd.kind":"sandbox"},"Image":"",
         "Extensions":{"io.cri-containerd.sandbox.metadata":{"type_url":"x","value":"bm90IGpzb24="}}}
        """#
        let record = try ContainerdRecord.parse(Data(json.utf8), what: "s1")
        #expect(record.cri == nil) // "not json": an unknown record format falls back to the labels
        #expect(record.kubernetesLabels == ["app": "web"])
        #expect(record.image == nil)
    }

    @Test func malformedCtrOutputIsAnError() {
        for text in ["", "ctr: container \"x\" in namespace \"default\": not found", #"{"Labels":{}}"#] {
            #expect(throws: SondeError.self, "\(text)") { try ContainerdRecord.parse(Data(text.utf8), what: "x") }
        }
    }

    @Test func containerdIdentifiers() {
        #expect(ContainerdSource.isIdentifier("k8s.io"))
        #expect(ContainerdSource.isIdentifier(Captured.webContainer))
        #expect(ContainerdSource.isIdentifier("sonde-probe-ctr"))
        #expect(!ContainerdSource.isIdentifier("--address=/tmp/evil"))
        #expect(!ContainerdSource.isIdentifier(""))
        #expect(!ContainerdSource.isIdentifier("a/b"))
        #expect(!ContainerdSource.isIdentifier(String(repeating: "a", count: 77)))
    }
}

@Suite struct ContainerdSourceTests {
    /// A fake host with the captured containerd runc root and a stand-in for its socket.
    struct Setup {
        let host: FakeHost
        let cli: FakeCLI
        let source: ContainerdSource
        let socket: String
    }

    /// `ctr containers info` answered from the captured output.
    @Sendable static func ctrInfoFixture(_ arguments: [String]) throws(SondeError) -> Data {
        guard arguments.count == 7, arguments[0] == "--address", arguments[2] == "--namespace",
              arguments[4...5] == ["containers", "info"] else {
            throw SondeError(.invalidArgument, "unexpected ctr call \(arguments)")
        }
        return try Fixtures.answer("containerd/info/\(arguments[3])/\(arguments[6]).json")
    }

    func setup(includeSandboxes: Bool = false,
               answer: @escaping @Sendable ([String]) throws(SondeError) -> Data = ctrInfoFixture) throws -> Setup {
        let host = try FakeHost()
        let root = try host.installRuncRoot(fixture: "containerd/runc", as: "containerd-runc")
        try host.write("", to: "containerd.sock")
        let socket = host.dir + "/containerd.sock"
        let cli = FakeCLI(answer: answer)
        let source = ContainerdSource(runcRoot: root, address: socket, includeSandboxes: includeSandboxes,
                                      run: cli.runner)
        return Setup(host: host, cli: cli, source: source, socket: socket)
    }

    @Test func listsPlainAndCRIContainersWithTheirPods() throws {
        let setup = try setup()
        var problems: [String] = []
        let containers = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        #expect(problems.isEmpty)
        #expect(Set(containers.map(\.name)) == [Captured.ctr, "nginx", "postgres"]) // sandboxes left out
        #expect(containers.allSatisfy { $0.runtime == .containerd })

        let plain = try #require(containers.first { $0.id == Captured.ctr })
        #expect(plain.cgroupPath == "/default/sonde-probe-ctr")
        #expect(plain.cgroupID == (try setup.host.cgroups.id(of: plain.cgroupPath)))
        #expect(plain.mountNamespaceID == (try ownMountNamespace()))
        #expect(plain.image == "localhost/sonde-busybox:latest")
        #expect(plain.labels == ["team": "sonde", "io.containerd.image.config.stop-signal": "SIGTERM"])
        #expect(plain.annotations == ["team": "sonde"])
        #expect(plain.pod == nil)

        let web = try #require(containers.first { $0.id == Captured.webContainer })
        #expect(web.cgroupPath == "/k8s.io/\(Captured.webContainer)")
        #expect(web.image == "localhost/sonde-busybox:latest")
        #expect(web.labels == ["sonde.test/container-label": "yes"])
        #expect(web.annotations["sonde.test/container-annotation"] == "yes")
        #expect(web.annotations["io.kubernetes.cri.sandbox-id"] == Captured.webSandbox)
        #expect(web.pod == Pod(name: "web-0", namespace: "shop", uid: Captured.webUID,
                               labels: ["app": "web", "tier": "front"]))

        let db = try #require(containers.first { $0.id == Captured.dbContainer })
        #expect(db.cgroupPath == "/sonde-pods/pod\(Captured.dbUID)/\(Captured.dbContainer)")
        #expect(db.pod == Pod(name: "db-0", namespace: "shop", uid: Captured.dbUID, labels: ["app": "db"]))
    }

    @Test func ctrIsAskedOncePerContainerAndSandbox() throws {
        let setup = try setup()
        var problems: [String] = []
        _ = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        _ = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        let calls = setup.cli.calls.withLock { $0 }
        #expect(calls.count == 5) // three containers and two sandboxes, each once
        #expect(calls.contains(["--address", setup.socket, "--namespace", "k8s.io", "containers", "info",
                                Captured.webSandbox]))
        #expect(problems.isEmpty)
    }

    @Test func sandboxesAreListedOnRequestUnderTheirPodsName() throws {
        let setup = try setup(includeSandboxes: true)
        var problems: [String] = []
        let containers = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        #expect(containers.count == 5 && problems.isEmpty)
        let sandbox = try #require(containers.first { $0.id == Captured.webSandbox })
        #expect(sandbox.name == "web-0")
        #expect(sandbox.image == "localhost/sonde-pause:latest")
        #expect(sandbox.labels == ["app": "web", "tier": "front"])
        #expect(sandbox.pod?.labels == ["app": "web", "tier": "front"])
        #expect(sandbox.annotations["sonde.test/pod-annotation"] == "yes")
    }

    @Test func withoutCtrCRIContainersKeepWhatRuncKnows() throws {
        let setup = try setup { _ throws(SondeError) in
            throw SondeError(.runtimeCommandFailed, "ctr --address /x containers info: did not finish within 5.0 s; killed it")
        }
        var problems: [String] = []
        let containers = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        #expect(containers.count == 3)
        // Each failure message once, not once per container, and no more calls after three failures.
        #expect(problems == ["ctr --address /x containers info: did not finish within 5.0 s; killed it"])
        #expect(setup.cli.callCount == 3)
        let web = try #require(containers.first { $0.id == Captured.webContainer })
        #expect(web.name == "nginx")
        #expect(web.image == "localhost/sonde-busybox:latest") // from the annotations
        #expect(web.pod == Pod(name: "web-0", namespace: "shop", uid: Captured.webUID, labels: [:]))
        #expect(containers.first { $0.id == Captured.ctr }?.image == nil)
    }

    @Test func aMissingSocketIsOneClearProblem() throws {
        let setup = try setup()
        try FileManager.default.removeItem(atPath: setup.socket)
        var problems: [String] = []
        let containers = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        #expect(containers.count == 3)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("containerd socket \(setup.socket) not found") == true)
        #expect(setup.cli.callCount == 0)
    }

    @Test func malformedCtrOutputIsReportedAndSkipped() throws {
        let setup = try setup { _ throws(SondeError) in Data("{\"ID\": [".utf8) }
        var problems: [String] = []
        let containers = setup.source.containers(cgroups: setup.host.cgroups, problems: &problems)
        #expect(containers.count == 3)
        #expect(!problems.isEmpty && problems.allSatisfy { $0.hasPrefix("malformed output of ctr containers info") })
    }
}
