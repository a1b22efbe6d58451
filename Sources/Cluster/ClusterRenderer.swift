import Events
import LinuxKit

/// Renders the merged records: the gadget's (or supervisor's) columns after NODE, NAMESPACE, POD
/// and CONTAINER, or JSON Lines whose objects start with "node", "namespace" and "pod" (the
/// container's own object, or name for dumps, follows as in the single-node output).
public struct ClusterRenderer: Sendable {
    public enum Format: Sendable { case columns, json }

    public let format: Format
    private let table: TableRenderer
    private let json = JSONRenderer()
    static let nodeWidth = 16

    /// Where the node, pod and container columns are taken from the event and not repeated.
    static let placedByCluster: Set<String> = ["CONTAINER", "POD", "NAMESPACE"]

    /// `columns`: the stream's own columns (a gadget's defaults); CONTAINER, POD and NAMESPACE
    /// among them move to the front.
    public init(format: Format, columns: [Column]) {
        self.format = format
        let own = columns.filter { !Self.placedByCluster.contains($0.header) }
        table = TableRenderer(columns: [.namespace, Column("POD", width: 20) { $0.container?.pod?.name ?? "" }, .container] + own)
    }

    /// The header line (columns only).
    public var header: String? {
        format == .columns ? "NODE".rightPadded(to: Self.nodeWidth) + " " + table.header() : nil
    }

    /// What a record prints: a line for stdout, or for stderr (notices; in columns mode also node
    /// failures, which JSON output carries as records on stdout so a consumer sees the gap).
    public func render(_ record: ClusterRecord) -> (stdout: String?, stderr: String?) {
        switch record {
        case .event(let node, let event):
            switch format {
            case .columns: return (Self.node(node) + table.render(event), nil)
            case .json:
                let pod = event.container?.pod
                return (Self.prefix(node: node, namespace: pod?.namespace ?? "", pod: pod?.name ?? "") + json.render(event).dropFirst(), nil)
            }
        case .dumpLine(let container, let line):
            switch format {
            case .columns:
                return (Self.node(container.node) + FieldText.printable(container.pod.namespace).rightPadded(to: 12) + " "
                        + FieldText.printable(container.pod.name).rightPadded(to: 20) + " "
                        + FieldText.printable(container.container.name).rightPadded(to: 16) + " " + FieldText.printable(line), nil)
            case .json:
                guard line.hasPrefix("{") else { return (nil, "kubectl-sonde: node \(container.node): not a JSON line: \(FieldText.printable(line))") }
                let prefix = Self.prefix(node: container.node, namespace: container.pod.namespace, pod: container.pod.name)
                let name: String = "\"pod_container\":" + JSONRenderer.quote(container.container.name) + ","
                return (prefix + name + line.dropFirst(), nil)
            }
        case .ready(let node):
            // On stderr, so that a script (or a test) knows the node's events flow from here on.
            return (nil, "kubectl-sonde: node \(FieldText.printable(node)): streaming")
        case .notice(let node, let text):
            return (nil, "kubectl-sonde: node \(FieldText.printable(node)): \(FieldText.printable(text))")
        case .nodeFailed(let node, let reason):
            switch format {
            case .columns:
                return (nil, "kubectl-sonde: node \(FieldText.printable(node)) unavailable, its events are missing: \(FieldText.printable(reason))")
            case .json:
                return ("{\"node\":" + JSONRenderer.quote(node) + ",\"error\":\"node unavailable\",\"reason\":" + JSONRenderer.quote(reason) + "}", nil)
            }
        }
    }

    /// `{"node":...,"namespace":...,"pod":...,` : the start of every JSON record.
    static func prefix(node: String, namespace: String, pod: String) -> String {
        var out = "{\"node\":" + JSONRenderer.quote(node)
        out += ",\"namespace\":" + JSONRenderer.quote(namespace)
        out += ",\"pod\":" + JSONRenderer.quote(pod) + ","
        return out
    }

    static func node(_ name: String) -> String {
        var text = FieldText.printable(name)
        if text.count > nodeWidth { text = String(text.prefix(nodeWidth)) }
        return text.rightPadded(to: nodeWidth) + " "
    }
}
