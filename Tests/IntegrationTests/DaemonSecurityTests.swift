import DaemonAPI
import Foundation
import GRPCCore
import LinuxKit
import XCTest
import TestSupport

/// Issue #13, the daemon's half: what a local non-root user, a network peer and a client
/// certificate holder can get from `sonde daemon`. Real daemons, real runc containers, loopback only.
final class DaemonSecurityTests: XCTestCase {
    override func setUp() async throws {
        try requireRoot()
    }

    // MARK: 8. Files with containers' syscalls are root's only

    /// A crash dump is 0600 in a 0700 directory, even when the directory was made 0755 before
    /// (an older daemon's); the recorder's registry and `sonde report -o` output are 0600 too.
    func testCrashDumpsRegistryAndReportsAreRootOnly() async throws {
        let container = try RuncContainer(prefix: "sonde-sec-crash", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; /bin/true before-the-crash; sh -c 'kill -SEGV $$'; exit 0",
        ])
        defer { container.remove() }
        let crashes = NSTemporaryDirectory() + "sonde-sec-crash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/crash"
        defer { try? FileManager.default.removeItem(atPath: (crashes as NSString).deletingLastPathComponent) }
        try FileManager.default.createDirectory(atPath: crashes, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let daemon = try DaemonProcess(recording: [], config: [
            "record": ["select": ["names": [container.name]], "crashDirectory": crashes, "bufferSize": "256K", "pool": 4],
        ])
        defer { daemon.remove() }
        try await daemon.start()
        try container.start()
        let recording = try await eventuallyValue(timeout: .seconds(30)) {
            try await daemon.api { try await $0.listContainers(.with { $0.selector.names = [container.name] }) }.containers.first { $0.recording }
        }
        XCTAssertNotNil(recording, daemon.log)
        _ = FileManager.default.createFile(atPath: container.rootfs.path + "/tmp/go", contents: nil)

        let dumped = try await eventuallyValue(timeout: .seconds(30)) {
            try FileManager.default.contentsOfDirectory(atPath: crashes).first { $0.hasPrefix(container.name) }
        }
        let dump = try XCTUnwrap(dumped, "no crash dump: \(daemon.log)")
        XCTAssertEqual(try mode(crashes), 0o700)
        XCTAssertEqual(try mode(crashes + "/" + dump), 0o600)
        XCTAssertTrue(try String(contentsOfFile: crashes + "/" + dump, encoding: .utf8).contains("before-the-crash"))
        XCTAssertEqual(try mode(daemon.settings.stateDirectory + "/registry.json"), 0o600)

        // A report made from the recording, written over a file that was world-readable.
        let json = daemon.directory + "/dump.json"
        let recorded = try daemon.dump(container.name, json: true)
        XCTAssertEqual(recorded.status, 0, recorded.stderr)
        try recorded.stdout.write(toFile: json, atomically: true, encoding: .utf8)
        let html = daemon.directory + "/report.html"
        _ = FileManager.default.createFile(atPath: html, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644])
        let report = try TestSupport.run(sondeExecutable, ["report", json, "--html", html], timeout: 60)
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertEqual(try mode(html), 0o600)
        XCTAssertTrue(daemon.isRunning)
    }

    func mode(_ path: String) throws -> mode_t {
        var st = stat()
        guard stat(path, &st) == 0 else { throw TestFailure("stat \(path): \(Errno.current)") }
        return st.st_mode & 0o7777
    }

    // MARK: 9. TCP peers that never speak

    /// 300 connections from ten loopback addresses that never send a ClientHello, against a daemon
    /// limited to 256 descriptors: the unix socket still answers, every flood connection is closed
    /// (refused over the limits at once, the others at the handshake timeout), the daemon lives and
    /// a real client gets in once the flood is gone.
    func testSilentTCPFloodNeitherExhaustsNorStopsTheDaemon() async throws {
        let certificates = try Certificates(users: ["/CN=ops/O=ops"])
        defer { certificates.remove() }
        let port = Int.random(in: 20000...40000)
        let daemon = try DaemonProcess(recording: ["sonde-sec-none"], config: [
            "tcp": certificates.tcp(port: port, clients: [["group": "ops", "wholeNode": true]],
                                    limits: ["handshakeTimeoutSeconds": 2, "connectionsPerPeer": 16]),
        ])
        defer { daemon.remove() }
        try await daemon.start(fileLimit: 256)

        var flood: [Int32] = []
        defer { for fd in flood { close(fd) } }
        for index in 0..<300 {
            if let fd = connectSilently(from: "127.0.0.\(2 + index % 10)", port: port) { flood.append(fd) }
        }
        XCTAssertGreaterThan(flood.count, 256, "the flood must exceed the daemon's descriptors")

        // While the flood holds its connections: the node's socket answers, the daemon lives.
        let status = try TestSupport.run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.socket], timeout: 60)
        XCTAssertEqual(status.status, 0, status.stderr + daemon.log)
        XCTAssertTrue(daemon.isRunning, daemon.log)

        // Every flood connection ends: the daemon closes it (EOF or reset), none is held forever.
        let allClosed = try await eventually(timeout: .seconds(60)) { flood.allSatisfy(isClosedByPeer) }
        XCTAssertTrue(allClosed, "\(flood.filter { !isClosedByPeer($0) }.count) flood connections still open: \(daemon.log)")
        XCTAssertTrue(daemon.log.contains("tcp: refused"), daemon.log)
        XCTAssertFalse(daemon.log.contains("EMFILE"), daemon.log)
        XCTAssertTrue(daemon.isRunning, daemon.log)

        // Then a client with a certificate is served over TCP (a later, fresh connection).
        let served = try await eventuallyValue(timeout: .seconds(30)) {
            try await certificates.api(user: "ops", port: port) { try await $0.status(.init()) }
        }
        XCTAssertNotNil(served, daemon.log)
        let again = try TestSupport.run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.socket], timeout: 60)
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    /// The daemon out of descriptors altogether (root holding 300 connections to its unix socket,
    /// which has no cap: it is root's): the recorder's next step, woken by a new cgroup's notice
    /// from the kernel, opens its registry, meets EMFILE and waits it out instead of ending the
    /// daemon; once the connections go, the daemon answers and records again.
    func testRunningOutOfDescriptorsDegradesAndRecovers() async throws {
        let daemon = try DaemonProcess(recording: ["sonde-sec-none"])
        defer { daemon.remove() }
        try await daemon.start(fileLimit: 128)
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        for _ in 0..<300 {
            if let fd = connectUnix(daemon.socket) { held.append(fd) }
        }
        // The recorder works on events only: a cgroup made now is one.
        let cgroup = try CgroupV2.find().mountPoint + "/sonde-sec-emfile-\(getpid())"
        XCTAssertEqual(mkdir(cgroup, 0o755), 0, "mkdir \(cgroup): \(errno)")
        defer { rmdir(cgroup) }
        let short = try await eventually(timeout: .seconds(30)) { daemon.log.contains("recorder: ") && daemon.log.contains("EMFILE") }
        XCTAssertTrue(short, "the recorder never ran short: \(held.count) connections held\n\(daemon.log)")
        XCTAssertTrue(daemon.isRunning, daemon.log)
        for fd in held { close(fd) }
        held = []
        let recovered = try await eventually(timeout: .seconds(30)) { daemon.log.contains("recorder: working again") }
        XCTAssertTrue(recovered, daemon.log)
        let status = try TestSupport.run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.socket], timeout: 60)
        XCTAssertEqual(status.status, 0, status.stderr + daemon.log)
        XCTAssertTrue(daemon.isRunning, daemon.log)
    }

    /// A connection to the unix socket, or nil once its backlog is full (non-blocking: the
    /// daemon cannot accept while it has no descriptor left).
    func connectUnix(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
        guard connected else {
            close(fd)
            return nil
        }
        return fd
    }

    /// A blocking TCP connection from `source` (a loopback address) that sends nothing.
    func connectSilently(from source: String, port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let connected = withUnsafePointer(to: &local) { l in
            l.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0 && withUnsafePointer(to: &remote) { r in
            r.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
        guard connected else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Whether the daemon ended the connection: readable with EOF, or reset.
    func isClosedByPeer(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return false }
        var byte: UInt8 = 0
        let got = recv(fd, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK))
        return got == 0 || (got < 0 && errno != EAGAIN)
    }

    // MARK: 10. Authorisation: a certificate reads its namespaces, nothing else

    /// Two containers in pods of namespaces team-a and team-b (registered as a CRI hook would).
    /// alice may read team-a: she gets its recording, its gadget events and its listing, and
    /// PERMISSION_DENIED for team-b's; nobody changes containers over TCP; an unknown certificate
    /// gets nothing; impersonation works for the gateway only; the third concurrent stream of one
    /// client is RESOURCE_EXHAUSTED, and one that ended makes room again.
    func testClientCertificatesReadOnlyTheirNamespaces() async throws {
        let certificates = try Certificates(users: ["/CN=alice", "/CN=bob", "/CN=gateway", "/CN=carol/O=ops"])
        defer { certificates.remove() }
        let a = try RuncContainer(prefix: "sonde-sec-a", args: ["sh", "-c", "while true; do /bin/true team-a; usleep 100000; done"])
        defer { a.remove() }
        let b = try RuncContainer(prefix: "sonde-sec-b", args: ["sh", "-c", "while true; do /bin/true team-b; usleep 100000; done"])
        defer { b.remove() }
        let port = Int.random(in: 20000...40000)
        let daemon = try DaemonProcess(recording: [], config: [
            "record": ["select": ["podNamespaces": ["team-a", "team-b"]], "crashDirectory": NSNull(), "bufferSize": "256K", "pool": 4],
            // Only the hooks describe these containers (with their pods), as for CRI containers.
            "runtimes": ["runcRoot": certificates.directory + "/no-runc", "containerdRuncRoot": certificates.directory + "/no-shims",
                         "containerdAddress": certificates.directory + "/no-containerd.sock"],
            "tcp": certificates.tcp(port: port, clients: [
                ["user": "alice", "podNamespaces": ["team-a"]],
                ["group": "ops", "wholeNode": true],
                ["user": "gateway", "impersonate": true],
            ], limits: ["streamsPerClient": 2]),
        ])
        defer { daemon.remove() }
        try await daemon.start()
        try a.start()
        try b.start()
        for (container, namespace) in [(a, "team-a"), (b, "team-b")] {
            try await register(container, namespace: namespace, daemon: daemon)
        }
        // Both recorded, with calls in their rings.
        for container in [a, b] {
            let text = try await eventuallyValue(timeout: .seconds(30)) { () -> String? in
                let dump = try daemon.dump(container.name)
                return dump.status == 0 && dump.stdout.contains("execve") ? dump.stdout : nil
            }
            XCTAssertNotNil(text, "\(container.name) not recorded: \(daemon.log)")
        }

        // DumpRecorder: team-a's yes, team-b's PERMISSION_DENIED.
        let ownDump = try await certificates.api(user: "alice", port: port) { client in
            try await client.dumpRecorder(.with { $0.container = a.name }) { response in
                var lines: [String] = []
                for try await reply in response.messages { lines += reply.lines }
                return lines
            }
        }
        XCTAssertTrue(ownDump.contains { $0.contains("team-a") }, ownDump.suffix(20).joined(separator: "\n"))
        let foreignDump = try await certificates.code(user: "alice", port: port) { client in
            try await client.dumpRecorder(.with { $0.container = b.name }) { response in
                for try await _ in response.messages {}
            }
        }
        XCTAssertEqual(foreignDump, .permissionDenied)

        // RunGadget: naming team-b's container is refused; team-a's streams its execs.
        let foreignGadget = try await certificates.code(user: "alice", port: port) { client in
            try await client.runGadget(.with { $0.gadget = "exec"; $0.selector.names = [b.name]; $0.timeoutSeconds = 5 }) { response in
                for try await _ in response.messages {}
            }
        }
        XCTAssertEqual(foreignGadget, .permissionDenied)
        // Naming no container: only the containers of her namespaces reach her.
        let seen = try await certificates.api(user: "alice", port: port) { client in
            try await client.runGadget(.with { $0.gadget = "exec"; $0.timeoutSeconds = 60 }) { response in
                var containers: [String] = []
                for try await reply in response.messages {
                    if case .event(let event) = reply.kind {
                        containers.append(event.container.id)
                        if containers.filter({ $0 == a.name }).count >= 5 { break }
                    }
                }
                return containers
            }
        }
        XCTAssertGreaterThanOrEqual(seen.filter { $0 == a.name }.count, 5, "\(seen)")
        XCTAssertEqual(Set(seen), [a.name], "events of containers outside team-a reached alice")

        // ListContainers: her namespace's only; the whole node's for ops.
        let listed = try await certificates.api(user: "alice", port: port) { try await $0.listContainers(.init()) }.containers.map(\.container.id)
        XCTAssertEqual(listed, [a.name])
        let opsListed = try await certificates.api(user: "carol", port: port) { try await $0.listContainers(.init()) }.containers.map(\.container.id)
        XCTAssertTrue(Set([a.name, b.name]).isSubset(of: Set(opsListed)), "\(opsListed)")

        // Mutating calls: the unix socket's only, whatever the grant.
        for user in ["alice", "carol"] {
            let add = try await certificates.code(user: user, port: port) { client in
                _ = try await client.addContainer(.with { $0.state = .with { $0.id = "intruder"; $0.pid = 1 } })
            }
            XCTAssertEqual(add, .permissionDenied, user)
            let remove = try await certificates.code(user: user, port: port) { client in
                _ = try await client.removeContainer(.with { $0.id = a.name })
            }
            XCTAssertEqual(remove, .permissionDenied, user)
        }
        let stillListed = try await daemon.api { try await $0.listContainers(.with { $0.selector.names = [a.name] }) }.containers
        XCTAssertEqual(stillListed.first?.fromHook, true)

        // A certificate of the CA that no rule names: nothing, not even Status.
        let unknown = try await certificates.code(user: "bob", port: port) { client in _ = try await client.status(.init()) }
        XCTAssertEqual(unknown, .permissionDenied)
        // Impersonation: bob may not forward alice; the gateway may, and then acts as alice only.
        let asAlice: Metadata = ["sonde-impersonate-user": "alice"]
        let bobAsAlice = try await certificates.code(user: "bob", port: port) { client in
            _ = try await client.listContainers(.init(), metadata: asAlice)
        }
        XCTAssertEqual(bobAsAlice, .permissionDenied)
        let forwarded = try await certificates.api(user: "gateway", port: port) {
            try await $0.listContainers(.init(), metadata: asAlice)
        }.containers.map(\.container.id)
        XCTAssertEqual(forwarded, [a.name])
        let forwardedForeign = try await certificates.code(user: "gateway", port: port) { client in
            try await client.dumpRecorder(.with { $0.container = b.name }, metadata: asAlice) { response in
                for try await _ in response.messages {}
            }
        }
        XCTAssertEqual(forwardedForeign, .permissionDenied)
        let gatewayItself = try await certificates.code(user: "gateway", port: port) { client in _ = try await client.listContainers(.init()) }
        XCTAssertEqual(gatewayItself, .permissionDenied, "impersonating is no grant of its own")

        // Streams per client: two held open (each ready), the third refused, then room again.
        // (A stream holds its slot until its gadget is detached: the ones above end first.)
        let idle = try await eventuallyValue(timeout: .seconds(30)) { () -> Bool? in
            try await daemon.api { try await $0.status(.init()) }.gadgetSessions == 0 ? true : nil
        }
        XCTAssertEqual(idle, true, daemon.log)
        let failure = Locked<String?>(nil)
        let holding = (0..<2).map { _ in
            let ready = Locked(false)
            let task = Task {
                do {
                    try await certificates.api(user: "alice", port: port) { client in
                        try await client.runGadget(.with { $0.gadget = "exec"; $0.selector.names = [a.name] }) { response in
                            for try await reply in response.messages where reply.kind == .ready(true) { ready.set(true) }
                        }
                    }
                } catch {
                    failure.set("\(error)")
                }
            }
            return (ready, task)
        }
        defer { for (_, task) in holding { task.cancel() } }
        let bothReady = try await eventually(timeout: .seconds(30)) { holding.allSatisfy { $0.0.get() } }
        XCTAssertTrue(bothReady, "\(failure.get() ?? "")\n\(daemon.log)")
        let third = try await certificates.code(user: "alice", port: port) { client in
            try await client.runGadget(.with { $0.gadget = "exec"; $0.selector.names = [a.name]; $0.timeoutSeconds = 5 }) { response in
                for try await _ in response.messages {}
            }
        }
        XCTAssertEqual(third, .resourceExhausted)
        // Another client is not held back by alice's streams.
        let opsStatus = try await certificates.api(user: "carol", port: port) { try await $0.status(.init()) }
        XCTAssertEqual(opsStatus.version, "sonde.v1")
        holding[0].1.cancel()
        let roomAgain = try await eventuallyValue(timeout: .seconds(30)) { () -> Bool? in
            let code = try await certificates.code(user: "alice", port: port) { client in
                try await client.runGadget(.with { $0.gadget = "exec"; $0.selector.names = [a.name]; $0.timeoutSeconds = 1 }) { response in
                    for try await _ in response.messages {}
                }
            }
            return code == nil ? true : nil
        }
        XCTAssertEqual(roomAgain, true, daemon.log)
        XCTAssertTrue(daemon.isRunning, daemon.log)
    }

    /// WatchSupervisor on TCP: two supervised containers in pods of team-a and team-b calling mknod
    /// five times a second; alice (team-a) gets team-a's decisions only, carol (the whole node) both.
    func testWatchSupervisorStreamsOnlyTheClientsNamespaces() async throws {
        let certificates = try Certificates(users: ["/CN=alice", "/CN=carol/O=ops"])
        defer { certificates.remove() }
        let d = certificates.directory
        try SupervisorIntegrationTests.policy.write(toFile: d + "/policy.json", atomically: true, encoding: .utf8)
        let port = Int.random(in: 20000...40000)
        let daemon = try DaemonProcess(recording: [], config: [
            "record": ["enabled": false],
            "supervise": ["socket": d + "/agent.sock", "policy": d + "/policy.json"],
            "runtimes": ["runcRoot": d + "/no-runc", "containerdRuncRoot": d + "/no-shims", "containerdAddress": d + "/no-containerd.sock"],
            "tcp": certificates.tcp(port: port, clients: [["user": "alice", "podNamespaces": ["team-a"]], ["group": "ops", "wholeNode": true]]),
        ])
        defer { daemon.remove() }
        try await daemon.start()
        var containers: [String: RuncContainer] = [:]
        defer { for container in containers.values { container.remove() } }
        for namespace in ["team-a", "team-b"] {
            let container = try RuncContainer(prefix: "sonde-sec-sv", args: [
                "sh", "-c", "while true; do mknod /root/null c 1 3; rm -f /root/null; usleep 200000; done",
            ])
            containers[namespace] = container
            try container.supervise(socket: d + "/agent.sock", metadata: "sonde-test")
            // Created (its seccomp fd already with the agent), registered with its pod, then started.
            let created = try TestSupport.run(RuncContainer.runc, ["create", "--bundle", container.bundle.path, container.name], timeout: 60)
            XCTAssertEqual(created.status, 0, created.stderr)
            try await register(container, namespace: namespace, daemon: daemon)
            let started = try TestSupport.run(RuncContainer.runc, ["start", container.name], timeout: 60)
            XCTAssertEqual(started.status, 0, started.stderr)
        }
        let a = try XCTUnwrap(containers["team-a"]), b = try XCTUnwrap(containers["team-b"])

        /// Container ids of the decisions `user` is sent, until `enough` says so (or 60 s).
        func watch(_ user: String, until enough: @escaping @Sendable ([String]) -> Bool) async throws -> [String] {
            try await certificates.api(user: user, port: port) { client in
                try await client.watchSupervisor(.with { $0.timeoutSeconds = 60 }) { response in
                    var seen: [String] = []
                    for try await reply in response.messages {
                        if case .event(let event) = reply.kind { seen.append(event.container.id) }
                        if enough(seen) { break }
                    }
                    return seen
                }
            }
        }
        let carol = try await watch("carol") { Set($0).isSuperset(of: [a.name, b.name]) }
        XCTAssertTrue(Set(carol).isSuperset(of: [a.name, b.name]), "\(carol)\n\(daemon.log)")
        // In the time alice gets five of team-a's, team-b's container calls as often.
        let alice = try await watch("alice") { $0.count >= 5 }
        XCTAssertGreaterThanOrEqual(alice.count, 5, daemon.log)
        XCTAssertEqual(Set(alice), [a.name], "decisions of containers outside team-a reached alice")
        XCTAssertTrue(daemon.isRunning, daemon.log)
    }

    /// Registers a created runc container as a CRI hook would: with its pod's namespace.
    func register(_ container: RuncContainer, namespace: String, daemon: DaemonProcess) async throws {
        let state = try JSONSerialization.jsonObject(with: Data(try TestSupport.run(RuncContainer.runc, ["state", container.name]).stdout.utf8)) as! [String: Any]
        _ = try await daemon.api { client in
            try await client.addContainer(.with {
                $0.runtime = "containerd"
                $0.state = .with {
                    $0.id = container.name
                    $0.pid = Int32(state["pid"] as! Int)
                    $0.bundle = container.bundle.path
                    $0.status = "created"
                    $0.annotations = ["io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": "app",
                                      "io.kubernetes.cri.sandbox-name": "pod-" + namespace, "io.kubernetes.cri.sandbox-namespace": namespace]
                }
            })
        }
    }
}

/// A CA, the daemon's certificate for 127.0.0.1 and one client certificate per subject (its CN
/// names the file), made with openssl.
struct Certificates {
    let directory: String

    init(users subjects: [String]) throws {
        directory = NSTemporaryDirectory() + "sonde-sec-certs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var script = """
        set -e
        cd "\(directory)"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=sonde-test-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile server.ext 2>/dev/null

        """
        for subject in subjects {
            let name = Self.user(of: subject)
            script += """
            openssl req -newkey rsa:2048 -nodes -keyout \(name).key -out \(name).csr -subj \(subject) 2>/dev/null
            openssl x509 -req -in \(name).csr -CA ca.pem -CAkey ca.key -CAcreateserial -out \(name).pem -days 1 2>/dev/null

            """
        }
        let made = try TestSupport.run("/bin/sh", ["-c", script], timeout: 120)
        guard made.status == 0 else { throw TestFailure("openssl: \(made.stderr)") }
    }

    static func user(of subject: String) -> String {
        subject.split(separator: "/").first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) } ?? "client"
    }

    func tcp(port: Int, clients: [[String: Any]], limits: [String: Any] = [:]) -> [String: Any] {
        ["address": "127.0.0.1:\(port)", "certificate": directory + "/server.pem", "key": directory + "/server.key",
         "clientCA": directory + "/ca.pem", "clients": clients, "limits": limits]
    }

    func endpoint(user: String, port: Int) -> DaemonEndpoint {
        .tcp(host: "127.0.0.1", port: port, tls: .init(certificate: directory + "/\(user).pem", key: directory + "/\(user).key", ca: directory + "/ca.pem"))
    }

    func api<R: Sendable>(user: String, port: Int, _ body: (SondeAPIClient) async throws -> R) async throws -> R {
        try await DaemonClient.with(endpoint: endpoint(user: user, port: port), body)
    }

    /// The gRPC status code `body` ended with; nil when it succeeded.
    func code(user: String, port: Int, _ body: (SondeAPIClient) async throws -> Void) async throws -> RPCError.Code? {
        try await DaemonClient.with(endpoint: endpoint(user: user, port: port)) { client -> RPCError.Code? in
            do {
                try await body(client)
                return nil
            } catch let error as RPCError {
                return error.code
            }
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
