import Events
import GadgetCatalog
import Gadgets

/// What a rule can watch: the events of a stream gadget (by its `sonde trace` name) or the
/// supervisor's decisions, each with its field catalogue. Both lists come from the registry.
public enum AuditSources {
    /// The seccomp supervisor's decisions (`sonde supervise --events`, the daemon's WatchSupervisor):
    /// events of source "supervise" made in Sources/Supervisor/Session.swift.
    public static var supervise: String { GadgetDescription.supervise.name }

    public static var names: [String] { GadgetRegistry.names + [supervise] }

    public static func catalog(_ source: String) -> FieldCatalog? {
        if source == supervise { return GadgetDescription.supervise.catalog }
        return GadgetCatalog.eventStream(named: source)?.catalog
    }

    public static func gadget(_ source: String) -> (any Gadget)? {
        GadgetRegistry.gadget(named: source)
    }
}
