import Events
import GadgetCatalog

/// The streams the daemons serve, as the client needs them: the event-stream gadgets and their
/// columns, from the same catalogue the daemons run (without linking their BPF), and the
/// supervisor's columns.
public enum ClusterGadgets {
    public static var names: [String] { GadgetCatalog.eventStreams.map(\.name) }

    public static func catalog(_ name: String) -> FieldCatalog? {
        GadgetCatalog.eventStream(named: name)?.catalog
    }

    /// The decision columns of `sonde supervise --events`, without CONTAINER (the cluster puts it first).
    public static let supervisorColumns: [Column] = [.time, .pid, .comm] + DecisionColumns.verdict + [DecisionColumns.call]
}
