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
    /// Runs until cancelled. Without containerd it looks again after `retry`, then less and less
    /// often (up to `longestRetry`): a node without containerd should not pay for the attempts.
    static func follow(address: String, retry: Duration = .seconds(5), longestRetry: Duration = .seconds(60),
                       changed: @escaping @Sendable (_ what: String) -> Void) async {
        var wait = retry
        while !Task.isCancelled {
            if Files.exists(address) {
                let started = ContinuousClock.now
                do {
                    try await subscribe(address: address, changed: changed)
                } catch {
                    // containerd stopped or refused: try again later.
                }
                // A subscription that lasted was a working containerd: the next one is tried soon.
                if ContinuousClock.now - started > longestRetry { wait = retry }
            }
            do { try await Task.sleep(for: wait) } catch { return }
            wait = min(wait * 2, longestRetry)
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
