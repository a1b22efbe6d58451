import Testing
@testable import Containers
@testable import LinuxKit

@Suite struct SelectionTests {
    let web = Container(runtime: .containerd, id: Captured.webContainer, name: "nginx",
                        cgroupPath: "/k8s.io/\(Captured.webContainer)", cgroupID: 10)
    let img = Container(runtime: .podman, id: Captured.podmanImage, name: "sonde-probe-img",
                        cgroupPath: "/libpod_parent/libpod-\(Captured.podmanImage)", cgroupID: 11)
    let service = Container(runtime: .cgroup, id: "/system.slice/foo.service", name: "foo.service",
                            cgroupPath: "/system.slice/foo.service", cgroupID: 12)

    @Test func emptySelectorTakesEveryContainerButNotPlainCgroups() {
        let selector = ContainerSelector()
        #expect(selector.matches(web) && selector.matches(img))
        #expect(!selector.matches(service))
        #expect(!selector.isExplicit)
    }

    @Test func namesMatchNameIDOrALongEnoughIDPrefix() {
        #expect(ContainerSelector(names: ["nginx"]).matches(web))
        #expect(ContainerSelector(names: [Captured.webContainer]).matches(web))
        #expect(ContainerSelector(names: ["ec58db"]).matches(web))
        #expect(!ContainerSelector(names: ["ec58d"]).matches(web)) // 5 characters: too short
        #expect(!ContainerSelector(names: ["nginx"]).matches(img))
        #expect(ContainerSelector(names: ["nginx"]).isExplicit)
    }

    @Test func runtimesNarrowTheSelection() {
        let podmanOnly = ContainerSelector(runtimes: [.podman])
        #expect(podmanOnly.matches(img) && !podmanOnly.matches(web))
        #expect(!ContainerSelector(names: ["nginx"], runtimes: [.podman]).matches(web))
    }

    @Test func cgroupPathsSelectPlainCgroupsOnly() {
        let selector = ContainerSelector(cgroupPaths: ["/system.slice/foo.service"])
        #expect(selector.matches(service))
        #expect(!selector.matches(web))
        #expect(selector.isExplicit)
        #expect(!ContainerSelector(cgroupPaths: ["/other"]).matches(service))
    }

    @Test func hostTakesEverything() {
        let selector = ContainerSelector(host: true)
        #expect(selector.matches(web) && selector.matches(img) && selector.matches(service))
    }

    @Test func unknownNamesListTheKnownContainers() {
        #expect(throws: Never.self) { try ContainerSelector(names: ["nginx"]).checkNamesExist(in: [web, img]) }
        do throws(SondeError) {
            try ContainerSelector(names: ["redis"]).checkNamesExist(in: [web, img, service])
            Issue.record("an unknown name passed")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message == "no container named redis")
            #expect(error.hint == "known containers: nginx (containerd), sonde-probe-img (podman)")
        }
        do throws(SondeError) {
            try ContainerSelector(names: ["redis"]).checkNamesExist(in: [])
        } catch {
            #expect(error.hint == "no containers are running")
        }
    }

    @Test func containersHoldTheirNestedCgroups() {
        #expect(web.contains(cgroupPath: "/k8s.io/\(Captured.webContainer)"))
        #expect(web.contains(cgroupPath: "/k8s.io/\(Captured.webContainer)/inner"))
        #expect(!web.contains(cgroupPath: "/k8s.io/\(Captured.webContainer)x"))
        #expect(!web.contains(cgroupPath: "/k8s.io"))
        let root = Container(runtime: .cgroup, id: "/", name: "/", cgroupPath: "/", cgroupID: 1)
        #expect(root.contains(cgroupPath: "/anything"))
    }
}
