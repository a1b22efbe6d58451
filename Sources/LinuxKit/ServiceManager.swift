import Foundation

/// systemd's readiness protocol (sd_notify(3)), spoken without libsystemd: one datagram of
/// newline-separated assignments to the unix socket NOTIFY_SOCKET names. Under `Type=notify`
/// systemd calls the service started only once it sends READY=1, and STOPPING=1 says a stop is
/// under way. Without the variable (not started by systemd) nothing is sent.
public enum ServiceManager {
    /// Sends `assignments` ("READY=1", "STOPPING=1\nSTATUS=..."); true when the whole datagram left.
    @discardableResult
    public static func notify(_ assignments: String,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        // As sd_notify: an absolute path or an abstract name, nothing else.
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"),
              let address = try? UnixSocketAddress(path) else { return false }
        return address.send(datagram: Array(assignments.utf8))
    }
}
