import Daemon
import Events
import Gadgets
import Supervisor

/// The streams the daemons serve, as the client needs them: gadget names and their columns (from
/// the daemon's own registry, so the plugin and the daemons agree), and the supervisor's columns.
public enum ClusterGadgets {
    public static var names: [String] { GadgetRegistry.builtin.names }

    public static func catalog(_ name: String) -> FieldCatalog? {
        GadgetRegistry.builtin.gadget(named: name)?.catalog
    }

    /// The decision columns of `sonde supervise --events`, without CONTAINER (the cluster puts it first).
    public static let supervisorColumns: [Column] = [.time, .pid, .comm] + DecisionColumns.verdict + [DecisionColumns.call]
}
