import Containers
@testable import Daemon
import Foundation
import GRPCCore
import LinuxKit
import XCTest

/// `tcp.clients` and `tcp.limits` as read from the config, and what a client's identity is granted.
final class DaemonSecurityConfigTests: XCTestCase {
    let tcp = #""address": "127.0.0.1:7443", "certificate": "s.pem", "key": "s.key", "clientCA": "ca.pem""#

    func testClientsAndLimitsAreRead() throws {
        let config = try DaemonConfig.parse(Data("""
        {"tcp": {\(tcp), "clients": [{"user": "alice", "podNamespaces": ["shop"]}, {"group": "ops", "wholeNode": true},
                                     {"user": "gw", "impersonate": true}],
                 "limits": {"handshakeTimeoutSeconds": 2.5, "idleTimeoutSeconds": 60, "connections": 100, "connectionsPerPeer": 4, "streamsPerClient": 3}}}
        """.utf8))
        let listener = try XCTUnwrap(config.tcp)
        XCTAssertEqual(listener.clients, [ClientRule(subject: .user("alice"), podNamespaces: ["shop"]),
                                          ClientRule(subject: .group("ops"), wholeNode: true),
                                          ClientRule(subject: .user("gw"), impersonate: true)])
        XCTAssertEqual(listener.limits.handshakeTimeoutSeconds, 2.5)
        XCTAssertEqual(listener.limits.idleTimeoutSeconds, 60)
        XCTAssertEqual(listener.limits.connections, 100)
        XCTAssertEqual(listener.limits.connectionsPerPeer, 4)
        XCTAssertEqual(listener.limits.streamsPerClient, 3)
        // Without the keys: no client is authorised, and the limits are the defaults.
        let bare = try XCTUnwrap(try DaemonConfig.parse(Data("{\"tcp\": {\(tcp)}}".utf8)).tcp)
        XCTAssertEqual(bare.clients, [])
        XCTAssertEqual(bare.limits, DaemonConfig.TCPLimits())
    }

    func testClientMistakesAreClearErrors() {
        func error(_ clients: String) -> String {
            do {
                _ = try DaemonConfig.parse(Data("{\"tcp\": {\(tcp), \"clients\": \(clients)}}".utf8), source: "daemon.json")
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertTrue(error(#"[{"user": "a", "group": "b", "wholeNode": true}]"#).contains("clients[0] needs exactly one of user and group"))
        XCTAssertTrue(error(#"[{"user": "a"}]"#).contains("clients[0] grants nothing"))
        XCTAssertTrue(error(#"[{"user": "a", "namespaces": ["x"]}]"#).contains("unknown key 'namespaces'"))
        XCTAssertTrue(error(#"{"user": "a"}"#).contains("expected a list"))
    }

    func testGrantsFollowIdentityAndImpersonationOnlyFromAnImpersonator() throws {
        let authorizer = Authorizer(rules: [ClientRule(subject: .user("alice"), podNamespaces: ["shop"]),
                                            ClientRule(subject: .group("ops"), wholeNode: true),
                                            ClientRule(subject: .group("all-pods"), podNamespaces: ["*"]),
                                            ClientRule(subject: .user("gw"), impersonate: true)])
        let shop = Container(runtime: .containerd, id: "a", name: "a", cgroupPath: "/a", cgroupID: 1, pod: Pod(name: "p", namespace: "shop"))
        let data = Container(runtime: .containerd, id: "b", name: "b", cgroupPath: "/b", cgroupID: 2, pod: Pod(name: "q", namespace: "data"))
        let plain = Container(runtime: .runc, id: "c", name: "c", cgroupPath: "/c", cgroupID: 3)

        let alice = try authorizer.authorize(certificateUser: "alice", certificateGroups: [], metadata: [:]).grant
        XCTAssertEqual([shop, data, plain].map(alice.permits), [true, false, false])
        let ops = try authorizer.authorize(certificateUser: "carol", certificateGroups: ["ops"], metadata: [:]).grant
        XCTAssertEqual([shop, data, plain].map(ops.permits), [true, true, true])
        let allPods = try authorizer.authorize(certificateUser: "dan", certificateGroups: ["all-pods"], metadata: [:]).grant
        XCTAssertEqual([shop, data, plain].map(allPods.permits), [true, true, false])

        XCTAssertThrowsError(try authorizer.authorize(certificateUser: "bob", certificateGroups: [], metadata: [:])) {
            XCTAssertEqual(($0 as? SondeError)?.code, .notPrivileged)
        }
        XCTAssertThrowsError(try authorizer.authorize(certificateUser: "gw", certificateGroups: [], metadata: [:]),
                             "impersonating grants nothing by itself")
        let forwarded: Metadata = ["sonde-impersonate-user": "alice"]
        XCTAssertThrowsError(try authorizer.authorize(certificateUser: "carol", certificateGroups: ["ops"], metadata: forwarded),
                             "only an impersonator may forward a user")
        let asAlice = try authorizer.authorize(certificateUser: "gw", certificateGroups: [], metadata: forwarded)
        guard case .remote(let identity, let grant) = asAlice else { return XCTFail("\(asAlice)") }
        XCTAssertEqual(identity, ClientIdentity(user: "alice", forwardedBy: "gw"))
        XCTAssertEqual([shop, data, plain].map(grant.permits), [true, false, false])
        let asOps = try authorizer.authorize(certificateUser: "gw", certificateGroups: [],
                                             metadata: ["sonde-impersonate-user": "eve", "sonde-impersonate-group": "ops"])
        XCTAssertTrue(asOps.grant.wholeNode)
    }
}
