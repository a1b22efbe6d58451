import Foundation
import Testing
import TestSupport

/// The daemon as a service manager and a DaemonSet see it: systemd's readiness protocol
/// (NOTIFY_SOCKET, Type=notify), the HTTP probes on the metrics listener, and SIGTERM.
@Suite(.serialized) struct DaemonLifecycleTests {
    static func httpStatus(_ url: String) throws -> (code: String, body: String) {
        let result = try run("/usr/bin/curl", ["-s", "--max-time", "10", "-w", "\n%{http_code}", url], timeout: 15)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func tellsSystemdAnswersProbesAndStopsCleanlyOnSIGTERM() async throws {
        let notify = try DatagramSocket(NSTemporaryDirectory() + "sonde-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock")
        defer { notify.remove() }
        let daemon = try DaemonProcess(recording: [], config: ["metrics": ["address": "127.0.0.1:0"], "record": ["enabled": false]])
        defer { daemon.remove() }
        try await daemon.start(environment: ["NOTIFY_SOCKET": notify.path])

        let ready = try #require(notify.receive(), "no READY=1 within 30 s: \(daemon.log)")
        #expect(ready.split(separator: "\n").first == "READY=1", "\(ready)")
        #expect(ready.contains("STATUS=serving on \(daemon.socket)"), "\(ready)")
        let address = try await DaemonMetricsTests.endpoint(daemon)
        let health = try Self.httpStatus("http://\(address)/healthz")
        #expect(health.code == "200" && health.body == "ok", "\(health)")
        let readiness = try Self.httpStatus("http://\(address)/readyz")
        #expect(readiness.code == "200" && readiness.body == "ready", "\(readiness)")
        #expect(try Self.httpStatus("http://\(address)/nope").code == "404")

        // SIGTERM: STOPPING=1, then exit 0 with no error line.
        let status = daemon.stop()
        #expect(status == 0, "\(daemon.log)")
        #expect(notify.receive() == "STOPPING=1")
        #expect(!daemon.log.lowercased().contains("error"), "\(daemon.log)")
    }
}
