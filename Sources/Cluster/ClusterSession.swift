import Dispatch
import Events
import Foundation
import LinuxKit
import Synchronization

/// One command of cluster mode from plan to printed output: runs the fan-out, prints the merged
/// records as they come (one write per line, so `| grep` and `| jq` see them at once), stops on
/// SIGINT/SIGTERM, and says at the end which nodes are missing.
public enum ClusterSession {
    public struct Outcome: Sendable {
        public var nodes: Int
        public var failedNodes: [String]
        public var records: Int
    }

    public static func run(_ plan: ClusterPlan, _ operation: ClusterOperation, fanOut: ClusterFanOut,
                           follow: ClusterFanOut.Follow? = nil, renderer: ClusterRenderer) async -> Outcome {
        for skipped in plan.skipped { printLine(STDERR_FILENO, "kubectl-sonde: skipped \(FieldText.printable(skipped))") }
        if let header = renderer.header { printLine(STDOUT_FILENO, header) }
        let state = SessionState()
        let task = Task {
            await fanOut.run(plan, operation, follow: follow) { record in
                state.note(record)
                let (out, err) = renderer.render(record)
                if let out { printLine(STDOUT_FILENO, out) }
                if let err { printLine(STDERR_FILENO, err) }
            }
        }
        let signals = StopSignals { task.cancel() }
        defer { signals.cancel() }
        await task.value
        let failed = state.failed
        if !failed.isEmpty {
            printLine(STDERR_FILENO, "kubectl-sonde: \(failed.count) of \(plan.nodes.count) nodes missing from this output: " + failed.joined(separator: ", "))
        }
        return Outcome(nodes: plan.nodes.count, failedNodes: failed, records: state.records)
    }

    /// Lines from many nodes' tasks: each is one write(2), so lines never interleave.
    public static func printLine(_ fd: Int32, _ text: String) {
        // A reader that went away (EPIPE) ends the output; nothing more to say to it.
        try? writeAll(fd, text + "\n")
    }
}

private final class SessionState: Sendable {
    private let state = Mutex((failedNodes: [String](), count: 0))

    func note(_ record: ClusterRecord) {
        state.withLock { state in
            switch record {
            case .nodeFailed(let node, _): state.failedNodes.append(node)
            case .event, .dumpLine: state.count += 1
            case .ready, .notice: break
            }
        }
    }

    var failed: [String] { state.withLock { $0.failedNodes.sorted() } }
    var records: Int { state.withLock { $0.count } }
}
