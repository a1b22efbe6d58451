import Daemon
import Events
import Gadgets

/// The streams the daemons serve, as the client needs them: gadget names and their columns (from
/// the daemon's own registry, so the plugin and the daemons agree), and the supervisor's columns.
public enum ClusterGadgets {
    public static var names: [String] { GadgetRegistry.builtin.names }

    public static func catalog(_ name: String) -> FieldCatalog? {
        GadgetRegistry.builtin.gadget(named: name)?.catalog
    }

    /// The decision columns of `sonde supervise --events`, without CONTAINER (the cluster puts it first).
    public static let supervisorColumns: [Column] = [
        .time, .pid, .comm,
        .field("SYSCALL", "syscall", width: 9),
        .field("VERDICT", "verdict", width: 11),
        .field("RET", "ret", width: 7),
        Column("CALL", width: 0) { event in
            let args = event.field("args").map(FieldText.text) ?? ""
            let rule = event.field("rule").map(FieldText.text) ?? ""
            return "\(args)  [\(rule)]"
        },
    ]
}
