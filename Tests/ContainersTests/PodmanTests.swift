import Foundation
import Testing
@testable import Containers
@testable import LinuxKit

@Suite struct PodmanTests {
    static let psArguments = ["ps", "--all", "--format", "json"]

    @Test func parsesPodmanPS() throws {
        let entries = try PodmanSource.parsePS(try Fixtures.data("podman/ps.json"))
        #expect(entries.count == 4)
        let image = try #require(entries[Captured.podmanImage])
        #expect(image.names == ["sonde-probe-img"])
        #expect(image.image == "localhost/sonde-busybox:latest")
        #expect(image.labels == ["tier": "img"])
        let rootfs = try #require(entries[Captured.podmanRootfs])
        #expect(rootfs.image == "")
        #expect(rootfs.labels == ["app": "probe"])
        #expect(entries[Captured.podmanInPod]?.labels == nil) // podman prints null, not {}
        #expect(entries[Captured.podmanInfra]?.names == ["d8369dfabda0-infra"]) // a podman pod's infra container
    }

    @Test func malformedPSOutputIsAnError() {
        for text in ["", "{}", #"[{"Names":["x"]}]"#, "Error: something"] {
            #expect(throws: SondeError.self, "\(text)") { try PodmanSource.parsePS(Data(text.utf8)) }
        }
    }

    func source(_ host: FakeHost, cli: FakeCLI) throws -> PodmanSource {
        let root = try host.installRuncRoot(fixture: "podman/runc", as: "run-runc")
        try host.installRuncRoot(fixture: "runc", as: "run-runc") // plain runc shares the root
        return PodmanSource(runcRoot: root, run: cli.runner)
    }

    @Test func namesImagesAndLabelsComeFromPodman() throws {
        let host = try FakeHost()
        let cli = FakeCLI { _ throws(SondeError) in try Fixtures.answer("podman/ps.json") }
        let source = try source(host, cli: cli)
        var problems: [String] = []
        let containers = source.containers(cgroups: host.cgroups, problems: &problems)
        #expect(problems.isEmpty)
        #expect(cli.calls.withLock { $0 } == [Self.psArguments])
        #expect(Set(containers.map(\.name)) == ["sonde-probe-pod", "sonde-probe-img", "sonde-probe-inpod",
                                                "d8369dfabda0-infra"])
        #expect(containers.allSatisfy { $0.runtime == .podman && $0.pod == nil })

        let fromImage = try #require(containers.first { $0.id == Captured.podmanImage })
        #expect(fromImage.image == "localhost/sonde-busybox:latest")
        #expect(fromImage.labels == ["tier": "img"])
        #expect(fromImage.cgroupPath == "/libpod_parent/libpod-\(Captured.podmanImage)")
        #expect(fromImage.cgroupID == (try host.cgroups.id(of: fromImage.cgroupPath)))
        #expect(fromImage.mountNamespaceID == (try ownMountNamespace()))
        #expect(fromImage.annotations["io.container.manager"] == "libpod")
        #expect(fromImage.bundle == "/var/lib/containers/storage/overlay-containers/\(Captured.podmanImage)/userdata")

        let fromRootfs = try #require(containers.first { $0.id == Captured.podmanRootfs })
        #expect(fromRootfs.image == nil)
        #expect(fromRootfs.rootfs == "/tmp/sonde-probe/rootfs")
        #expect(fromRootfs.labels == ["app": "probe"])
        #expect(fromRootfs.annotations["sonde.test"] == "yes")

        let inPod = try #require(containers.first { $0.id == Captured.podmanInPod })
        #expect(inPod.cgroupPath == "/libpod_parent/\(Captured.podmanPod)/libpod-\(Captured.podmanInPod)")
        #expect(inPod.labels.isEmpty)
    }

    @Test func podmanIsAskedOnlyForContainersItHasNotNamed() throws {
        let host = try FakeHost()
        let cli = FakeCLI { _ throws(SondeError) in try Fixtures.answer("podman/ps.json") }
        let source = try source(host, cli: cli)
        var problems: [String] = []
        _ = source.containers(cgroups: host.cgroups, problems: &problems)
        let again = source.containers(cgroups: host.cgroups, problems: &problems)
        #expect(again.count == 4 && problems.isEmpty)
        #expect(cli.callCount == 1)
    }

    @Test func whenPodmanFailsContainersAreStillListedByID() throws {
        let host = try FakeHost()
        let cli = FakeCLI { _ throws(SondeError) in
            throw SondeError(.runtimeCommandFailed, "podman ps --all --format json failed (exit status 125)")
        }
        let source = try source(host, cli: cli)
        var problems: [String] = []
        let containers = source.containers(cgroups: host.cgroups, problems: &problems)
        #expect(containers.count == 4)
        #expect(containers.allSatisfy { $0.name == $0.id && $0.labels.isEmpty })
        #expect(problems == ["podman ps --all --format json failed (exit status 125)"])
        // Not asked again at once: a broken podman must not run on every refresh.
        var later: [String] = []
        _ = source.containers(cgroups: host.cgroups, problems: &later)
        #expect(later.isEmpty && cli.callCount == 1)
    }

    @Test func malformedPodmanOutputIsReportedNotFatal() throws {
        let host = try FakeHost()
        let cli = FakeCLI { _ throws(SondeError) in Data("[{\"Id\": 42}]".utf8) }
        let source = try source(host, cli: cli)
        var problems: [String] = []
        let containers = source.containers(cgroups: host.cgroups, problems: &problems)
        #expect(containers.count == 4)
        #expect(problems.count == 1 && problems[0].hasPrefix("malformed output of podman ps"))
    }

    @Test func noPodmanContainersMeansNoPodmanCall() throws {
        let host = try FakeHost()
        let root = try host.installRuncRoot(fixture: "runc", as: "run-runc")
        let cli = FakeCLI { _ throws(SondeError) in Data("[]".utf8) }
        var problems: [String] = []
        #expect(PodmanSource(runcRoot: root, run: cli.runner).containers(cgroups: host.cgroups, problems: &problems).isEmpty)
        #expect(cli.callCount == 0 && problems.isEmpty)
    }
}

@Suite struct MetadataCacheTests {
    @Test func fetchesOnlyForUnknownKeysAndForgetsGoneOnes() {
        let cache = MetadataCache<Int>()
        var problems: [String] = []
        var fetches = 0
        let fetch = { () throws(SondeError) -> [String: Int] in
            fetches += 1
            return ["a": 1, "b": 2]
        }
        #expect(cache.values(for: ["a"], problems: &problems, fetch: fetch) == ["a": 1])
        #expect(cache.values(for: ["a"], problems: &problems, fetch: fetch) == ["a": 1])
        #expect(fetches == 1)
        #expect(cache.values(for: ["a", "b"], problems: &problems, fetch: fetch) == ["a": 1, "b": 2])
        #expect(fetches == 2)
        // "c" is unknown to the CLI: asked once, then left alone until retryAfter.
        #expect(cache.values(for: ["a", "c"], problems: &problems, fetch: fetch) == ["a": 1])
        #expect(cache.values(for: ["a", "c"], problems: &problems, fetch: fetch) == ["a": 1])
        #expect(fetches == 3 && problems.isEmpty)
    }

    @Test func missesAreRetriedAfterTheirTime() {
        let cache = MetadataCache<Int>(retryAfter: .zero)
        var problems: [String] = []
        var fail = true
        let fetch = { () throws(SondeError) -> Int in
            if fail { throw SondeError(.runtimeCommandFailed, "ctr failed") }
            return 7
        }
        #expect(cache.value(for: "k", problems: &problems, fetch: fetch) == nil)
        #expect(problems == ["ctr failed"])
        fail = false
        #expect(cache.value(for: "k", problems: &problems, fetch: fetch) == 7)
        cache.retain([])
        fail = true
        #expect(cache.value(for: "k", problems: &problems, fetch: fetch) == nil) // forgotten, fetched again
        #expect(problems.count == 2)
    }
}
