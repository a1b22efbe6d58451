import Cluster
import DaemonAPI
import Testing
import TestSupport

/// `--tls-server-name '{node}'`: with a certificate per node, each daemon must present its own
/// node's name, so one node's key cannot pass for another node's daemon.
@Suite struct PerNodeCertificateTests {
    func serverName(_ template: String, node: String) async throws -> String? {
        let dialer = DirectDialer(port: 7443, tls: DaemonEndpoint.ClientTLS(certificate: "client.pem", key: "client.key", ca: "ca.pem",
                                                                            serverName: template))
        guard case .tcp(_, _, let tls) = try await dialer.dial(NodePlan(node: node, host: "10.0.0.1", containers: [])) else {
            Issue.record("not a TCP endpoint")
            return nil
        }
        return tls.serverName
    }

    @Test func theServerNameTemplateNamesEachNode() async throws {
        #expect(try await serverName("{node}.sonde", node: "node-1") == "node-1.sonde")
        #expect(try await serverName("{node}.sonde", node: "node-2") == "node-2.sonde")
        // The shared certificate's fixed name stays as it is.
        #expect(try await serverName("sonde-daemon", node: "node-1") == "sonde-daemon")
    }
}
