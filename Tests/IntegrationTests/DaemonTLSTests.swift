import DaemonAPI
import Foundation
import XCTest
import TestSupport

/// The daemon's optional TCP API: mutual TLS, and nothing without it.
final class DaemonTLSTests: XCTestCase {
    /// A CA, the daemon's certificate for 127.0.0.1 and a client's, made with openssl; plus a client
    /// of another CA, which the daemon must refuse.
    func makeCertificates(in directory: String) throws {
        let script = """
        set -e
        cd "\(directory)"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=sonde-test-ca 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 1 -subj /CN=other-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile server.ext 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=sonde-client 2>/dev/null
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 1 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout intruder.key -out intruder.csr -subj /CN=intruder 2>/dev/null
        openssl x509 -req -in intruder.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -out intruder.pem -days 1 2>/dev/null
        """
        let made = try TestSupport.run("/bin/sh", ["-c", script], timeout: 120)
        guard made.status == 0 else { throw TestFailure("openssl: \(made.stderr)") }
    }

    func testTCPAnswersClientsOfItsCAOnly() async throws {
        try requireRoot()
        let daemon = try DaemonProcess(recording: [])
        defer { daemon.remove() }
        let d = daemon.directory
        try makeCertificates(in: d)
        let port = Int.random(in: 20000...40000)
        let config: [String: Any] = [
            "record": ["enabled": false],
            "tcp": ["address": "127.0.0.1:\(port)", "certificate": d + "/server.pem", "key": d + "/server.key", "clientCA": d + "/ca.pem",
                    "clients": [["user": "sonde-client", "wholeNode": true], ["user": "intruder", "wholeNode": true]]],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: daemon.configPath))
        try await daemon.start()
        XCTAssertTrue(daemon.log.contains("127.0.0.1:\(port) (mTLS)"), daemon.log)

        let status = try TestSupport.run(sondeExecutable, ["daemon", "status", "--daemon-address", "127.0.0.1:\(port)",
                                                                "--tls-cert", d + "/client.pem", "--tls-key", d + "/client.key", "--tls-ca", d + "/ca.pem"])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("at 127.0.0.1:\(port) (mTLS)"), status.stdout)
        XCTAssertTrue(status.stdout.contains("recording off"), status.stdout)

        // A client certificate of another CA: refused.
        let intruder = DaemonEndpoint.tcp(host: "127.0.0.1", port: port,
                                          tls: .init(certificate: d + "/intruder.pem", key: d + "/intruder.key", ca: d + "/ca.pem"))
        let intruderAnswered = await DaemonClient.isAnswering(endpoint: intruder, timeout: .seconds(5))
        XCTAssertFalse(intruderAnswered)
        // A client that does not trust the daemon's CA: refuses the daemon.
        let distrustful = DaemonEndpoint.tcp(host: "127.0.0.1", port: port,
                                             tls: .init(certificate: d + "/client.pem", key: d + "/client.key", ca: d + "/other-ca.pem"))
        let distrustfulAnswered = await DaemonClient.isAnswering(endpoint: distrustful, timeout: .seconds(5))
        XCTAssertFalse(distrustfulAnswered)
        // The right client, through the library too.
        let client = DaemonEndpoint.tcp(host: "127.0.0.1", port: port,
                                        tls: .init(certificate: d + "/client.pem", key: d + "/client.key", ca: d + "/ca.pem"))
        let clientAnswered = await DaemonClient.isAnswering(endpoint: client, timeout: .seconds(5))
        XCTAssertTrue(clientAnswered)
        // No certificate at all: a plain-text HTTP/2 client gets nothing.
        let plain = try TestSupport.run("/bin/sh", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port) 2>/dev/null || exit 0; printf 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' >&3; timeout 2 cat <&3 | head -c 64 | od -c | head -2"], timeout: 10)
        XCTAssertFalse(plain.stdout.contains("sonde"), plain.stdout)
        XCTAssertTrue(daemon.isRunning)

        // Configuration mistakes are clear.
        try JSONSerialization.data(withJSONObject: ["tcp": ["address": "127.0.0.1:\(port)"]]).write(to: URL(fileURLWithPath: daemon.configPath))
        let refused = try TestSupport.run(sondeExecutable, ["daemon", "--socket", d + "/second.sock", "--config", daemon.configPath], timeout: 30)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("tcp.certificate is required: the TCP API takes mutual TLS only"), refused.stderr)
    }
}
