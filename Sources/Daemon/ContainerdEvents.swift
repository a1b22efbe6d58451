import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LinuxKit
import SwiftProtobuf

/// Follows containerd's task events (Events.Subscribe on its API socket) and says when a task
/// started, exited or was deleted, so that the daemon lists containers again at once instead of at
/// the next period. containerd not running, or going away, is normal: the watcher waits and
/// subscribes again, and each new subscription counts as a change (what happened meanwhile is
/// found by listing). The listing itself (ContainerdSource) gives the CRI pod metadata.
enum ContainerdEvents {
    /// Runs until cancelled.
    static func follow(address: String, retry: Duration = .seconds(5),
                       changed: @escaping @Sendable (_ what: String) -> Void) async {
        while !Task.isCancelled {
            if Files.exists(address) {
                do {
                    try await subscribe(address: address, changed: changed)
                } catch {
                    // containerd stopped or refused: try again later.
                }
            }
            do { try await Task.sleep(for: retry) } catch { return }
        }
    }

    static func subscribe(address: String, changed: @escaping @Sendable (String) -> Void) async throws {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: address), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { client in
            let events = Containerd_Services_Events_V1_Events.Client(wrapping: client)
            var options = CallOptions.defaults
            options.waitForReady = false
            let request = Containerd_Services_Events_V1_SubscribeRequest.with { $0.filters = [#"topic~="^/tasks/""#] }
            try await events.subscribe(request, options: options) { response in
                changed("subscribed to containerd events at \(address)")
                for try await envelope in response.messages {
                    changed(describe(envelope))
                }
            }
        }
    }

    /// "/tasks/start k8s.io/ID" for the daemon's log.
    static func describe(_ envelope: Containerd_Services_Events_V1_Envelope) -> String {
        let head = try? Containerd_Services_Events_V1_TaskEventHead(serializedBytes: envelope.event.value)
        let id = head?.containerID ?? ""
        return "containerd \(envelope.topic) \(envelope.namespace)/\(id.isEmpty ? "?" : id)"
    }
}
